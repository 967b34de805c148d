"""The demo organization's fixed specification: teams, projects, run kinds, GPUs, places and fleet.

Pure data and small value types; ``frontend/demo.py`` turns it into rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import NamedTuple

from django.utils.text import slugify

from emissions.choices import SiteOwnership
from emissions.models import CloudRegion, Site

SEED = 20250101
ORG_SLUG = "acme"
MONTHS = 21  # 2025-01 .. 2026-09
PERIOD_END = datetime(2026, 10, 1, tzinfo=UTC)  # exclusive end of the run period
DEMO_EXPERIMENT_ID = "5b0fa12a-3dd7-45bb-9766-cc326314d9f1"  # CodeCarbon's built-in default experiment id
DIESEL_FUEL, DIESEL_UNIT = "diesel (gas/diesel oil)", "litre"  # the FuelFactor row of fuel_factors.csv
H100_IN_SERVICE = date(2025, 6, 1)  # Frankfurt's refresh: A100 servers before, H100 after
RAM_W_PER_GB = 3 / 8  # CodeCarbon's RAM rule of thumb: 3 W per 8 GB
SAMPLED_RUNS = 200  # the most recent codecarbon_api runs get RunSamples


class TeamSpec(NamedTuple):
    """A demo team. ``green`` (0..1): how widely it applies efficiency techniques; ``budget_factor``: its
    quarterly budget over its own mean quarterly estimate (< 1 overruns); ``places``: where its runs go."""

    name: str
    parent: str | None
    green: float
    budget_factor: float
    places: dict[str, int]
    user_names: str  # space-separated tracker user names

    @property
    def slug(self) -> str:
        return slugify(self.name)


class ProjectSpec(NamedTuple):
    """A demo project; ``weight`` is its relative share of runs, ``mix`` the kind mix (default: its stage)."""

    slug: str
    name: str
    team: str
    model_family: str
    stage: str
    weight: int
    llm: bool = False  # counts tokens
    cpu_only: bool = False
    mix: str = ""


TEAMS = (
    TeamSpec("Foundation Models", None, 0.5, 0.9, {"fra": 5, "aws": 3, "gcp-eu": 2}, "a.kowalski m.chen s.okafor"),
    TeamSpec("Applied NLP", "foundation-models", 0.5, 1.6, {"gcp-eu": 3, "mtl": 4, "fra": 3}, "l.moreau r.iyer"),
    TeamSpec("Search & Ranking", None, 0.3, 1.3, {"aws": 6, "gcp-us": 2, "fra": 2}, "t.nguyen k.berg d.alvarez"),
    TeamSpec("Vision", None, 0.1, 0.8, {"fra": 5, "aws": 4, "gcp-us": 1}, "j.schmidt p.rossi e.tanaka"),
    TeamSpec("Speech", None, 0.9, 1.8, {"mtl": 7, "azure": 3}, "n.haddad c.dubois"),
    TeamSpec("ML Platform", None, 0.4, 1.5, {"fra": 4, "aws": 3, "azure": 3}, "b.osei h.larsen"),
)
PROJECTS = (
    ProjectSpec("atlas-pretrain", "Atlas pretraining", "foundation-models", "Atlas LLM 7B-34B", "training", 6, True),
    ProjectSpec("atlas-chat", "Atlas Chat", "foundation-models", "Atlas LLM 7B-34B", "production", 8, True),
    ProjectSpec("scaling-laws", "Scaling-law studies", "foundation-models", "Atlas LLM 0.1B-1B", "research", 5, True),
    ProjectSpec("support-summarizer", "Support summarizer", "applied-nlp", "Atlas-7B + LoRA", "production", 6, True),
    ProjectSpec("doc-classifier", "Document classifier", "applied-nlp", "DistilBERT", "production", 5),
    ProjectSpec("pii-redaction", "PII redaction", "applied-nlp", "DeBERTa-v3 token classifier", "research", 3),
    ProjectSpec("query-ranker", "Query ranker", "search-ranking", "BERT-base cross-encoder", "production", 9),
    ProjectSpec("dense-retrieval", "Dense retrieval", "search-ranking", "E5 bi-encoder", "training", 6),
    ProjectSpec("shelf-detector", "Shelf-image detector", "vision", "DETR-R50", "production", 7),
    ProjectSpec("vision-backbone", "Vision backbone", "vision", "ViT-L/14", "training", 5),
    ProjectSpec("product-captions", "Product captioning", "vision", "BLIP-2", "research", 4, True),
    ProjectSpec("asr-streaming", "Streaming ASR", "speech", "Conformer-CTC", "production", 7),
    ProjectSpec("tts-voices", "Neural TTS voices", "speech", "VITS", "research", 4),
    ProjectSpec("eval-harness", "Evaluation harness", "ml-platform", "", "production", 6, True, mix="evaluation"),
    ProjectSpec("feature-pipelines", "Feature pipelines", "ml-platform", "LightGBM", "production", 5, cpu_only=True),
)
KIND_MIX = {  # run kind -> relative weight, per project kind mix
    "research": {"development": 35, "evaluation": 25, "training": 20, "fine_tuning": 15, "inference": 5},
    "training": {"training": 30, "fine_tuning": 20, "evaluation": 25, "development": 20, "inference": 5},
    "production": {"inference": 50, "fine_tuning": 15, "evaluation": 20, "development": 10, "training": 5},
    "evaluation": {"evaluation": 80, "development": 15, "inference": 5},
}


class KindSpec(NamedTuple):
    """How runs of one kind look: log-normal duration (median, min, max hours), GPU counts and their
    weights, GPU utilization range (%) and the share of runs that use no GPU."""

    median_h: float
    min_h: float
    max_h: float
    gpu_counts: tuple[int, ...]
    gpu_count_weights: tuple[int, ...]
    util_pct: tuple[float, float]
    cpu_only_share: float


KINDS = {
    "training": KindSpec(30, 2, 168, (8, 16, 32, 64), (4, 3, 2, 1), (70, 90), 0.0),
    "fine_tuning": KindSpec(4, 0.25, 36, (1, 2, 4, 8), (3, 3, 2, 1), (60, 88), 0.0),
    "inference": KindSpec(10, 1, 24, (1, 2, 4), (5, 3, 1), (40, 70), 0.0),
    "evaluation": KindSpec(0.75, 0.1, 6, (1, 2, 4, 8), (4, 3, 2, 1), (50, 85), 0.15),
    "development": KindSpec(1.5, 0.1, 8, (1, 2), (4, 1), (40, 65), 0.35),
}


@dataclass(frozen=True)
class Gpu:
    """An accelerator as the catalogue and CodeCarbon name it; ``tokens_per_gpu_hour`` at full utilization."""

    catalogue_name: str
    tracker_name: str
    tdp_w: float
    host_cpu: str
    tokens_per_gpu_hour: float


GPUS = {
    "a100-40": Gpu("NVIDIA A100 SXM4 40GB", "NVIDIA A100-SXM4-40GB", 400, "AMD EPYC 7R32 48-Core Processor", 3.0e6),
    "a100-80": Gpu("NVIDIA A100 SXM4 80GB", "NVIDIA A100-SXM4-80GB", 400, "AMD EPYC 7V12 64-Core Processor", 3.2e6),
    "h100": Gpu("NVIDIA H100 SXM 80GB", "NVIDIA H100 80GB HBM3", 700, "Intel(R) Xeon(R) Platinum 8480+", 8.0e6),
    "l40s": Gpu("NVIDIA L40S 48GB", "NVIDIA L40S", 350, "AMD EPYC 9354 32-Core Processor", 1.5e6),
}
CPU_ONLY_MODEL = "Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz"
SITES = (  # place key, slug, name, ownership, zone, PUE, WUE (L/kWh), idle IT load (kW) metered but never tracked
    ("fra", "frankfurt-dc", "Frankfurt DC", SiteOwnership.OWNED, "DE", 1.35, 1.8, 5.0),
    ("mtl", "montreal-colo", "Montréal colo", SiteOwnership.COLOCATION, "CA-QC", 1.2, 0.3, 1.5),
)
CLOUDS = {
    "aws": "aws:us-east-1",
    "gcp-eu": "gcp:europe-west4",
    "gcp-us": "gcp:us-central1",
    "azure": "azure:swedencentral",
}
# What a tracker that knows only the country reports on-premises (Ember 2023, grid_intensity_country.csv).
SITE_TRACKER_INTENSITY = {"DE": 380.95, "CA-QC": 170.043}
NODE = "GPU server node excluding GPUs (8-GPU class, generic)"
A100_SERVER = "8x NVIDIA A100 SXM4 40GB server, complete (p4d.24xlarge class)"
FLEET = (  # asset id, place key, catalogue model, quantity, acquired, in service, lifetime years, retired, disposal
    ("FRA-A100-2021", "fra", A100_SERVER, 4, date(2021, 6, 1), date(2021, 6, 21), 5, date(2025, 6, 30), "recycling"),
    ("FRA-CPU-2022", "fra", "Dell PowerEdge R740", 6, date(2022, 3, 1), date(2022, 3, 14), 4, None, ""),
    ("FRA-H100-GPU-2025", "fra", "NVIDIA H100 SXM 80GB", 32, date(2025, 5, 15), H100_IN_SERVICE, 5, None, ""),
    ("FRA-H100-NODE-2025", "fra", NODE, 4, date(2025, 5, 15), H100_IN_SERVICE, 5, None, ""),
    ("MTL-L40S-GPU-2024", "mtl", "NVIDIA L40S 48GB", 16, date(2024, 3, 4), date(2024, 4, 2), 5, None, ""),
    ("MTL-L40S-NODE-2024", "mtl", NODE, 2, date(2024, 3, 4), date(2024, 4, 2), 5, None, ""),
    ("MTL-L40S-GPU-2026", "mtl", "NVIDIA L40S 48GB", 8, date(2026, 2, 9), date(2026, 3, 2), 5, None, ""),
    ("MTL-L40S-NODE-2026", "mtl", NODE, 1, date(2026, 2, 9), date(2026, 3, 2), 5, None, ""),
)


@dataclass(frozen=True)
class Place:
    """Where a run executes (a site or a cloud region), its PUE and the intensity (g/kWh) a tracker reports there."""

    key: str
    site: Site | None
    region: CloudRegion | None
    pue: float
    tracker_intensity_g_per_kwh: float
    country_iso3: str
