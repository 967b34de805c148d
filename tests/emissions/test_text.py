"""One yes/no vocabulary (emissions/text.py) for every reader: settings, CSV cells, import options.

Each reader accepts the union of the words the readers accepted before they shared it.
"""

import pytest
from django.core.exceptions import ImproperlyConfigured

from emissions.text import FALSY_WORDS, TRUTHY_WORDS, truthy, yes_no
from frontend.env import env_bool
from ingest.loaders import _cpu_measured
from ingest.parsers.csv_rows import CellError, bool_cell
from ingest.parsers.tracker_rows import tracker_options

BEFORE = {  # the yes-words each reader had of its own
    "env_bool": {"1", "true", "yes", "on"},
    "bool_cell": {"true", "yes", "1", "y"},
    "merge_ranks": {"true", "1", "yes", "on", "y"},
    "cpu_measured": {"1", "true", "yes"},
}


def test_the_words_are_the_union_of_the_readers_words():
    assert set().union(*BEFORE.values()) == TRUTHY_WORDS
    assert {"0", "false", "no", "off", "n"} == FALSY_WORDS


@pytest.mark.parametrize("word", sorted(TRUTHY_WORDS))
def test_every_reader_takes_every_yes_word(word, monkeypatch):
    for spelled in (word, word.upper(), f" {word} "):
        assert truthy(spelled) is True and yes_no(spelled) is True
        monkeypatch.setenv("X_FLAG", spelled)
        assert env_bool("X_FLAG", False) is True
        assert bool_cell({"flag": spelled}, "flag", default=False) is True
        assert tracker_options({"merge_ranks": spelled}).merge_ranks is True
        assert _cpu_measured(spelled) is True


@pytest.mark.parametrize("word", sorted(FALSY_WORDS))
def test_every_reader_takes_every_no_word(word, monkeypatch):
    for spelled in (word, word.upper()):
        assert truthy(spelled) is False and yes_no(spelled) is False
        monkeypatch.setenv("X_FLAG", spelled)
        assert env_bool("X_FLAG", True) is False
        assert bool_cell({"flag": spelled}, "flag", default=True) is False
        assert tracker_options({"merge_ranks": spelled}).merge_ranks is False
        assert _cpu_measured(spelled) is False


def test_other_words_are_refused_by_strict_readers_and_false_for_lenient_ones(monkeypatch):
    assert truthy("maybe") is False and yes_no("maybe") is None and truthy(True) is True
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured):
        env_bool("X_FLAG", False)
    with pytest.raises(CellError):
        bool_cell({"flag": "maybe"}, "flag", default=False)
    assert tracker_options({"merge_ranks": "maybe"}).merge_ranks is False
    assert _cpu_measured("RAPL") is True and _cpu_measured("maybe") is False  # the tracker log's own word
    monkeypatch.setenv("X_FLAG", "")
    assert env_bool("X_FLAG", True) is False  # set but empty
    assert bool_cell({"flag": ""}, "flag", default=True) is True  # an empty cell takes the default
