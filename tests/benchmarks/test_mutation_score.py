"""The mutation sampler: seeded, stratified by module with a floor per module, and a correct Wilson interval."""

from __future__ import annotations

import collections

import pytest

from tests.benchmarks.mutation_score import module_of, stratified_sample, wilson_interval


def _population() -> dict[str, str]:
    names = [f"pipeline.big.x_f__mutmut_{i}" for i in range(900)]
    names += [f"pipeline.mid.xǁShapeǁarea__mutmut_{i}" for i in range(90)]
    names += [f"viewer.small.x_g__mutmut_{i}" for i in range(4)]
    return dict.fromkeys(names, "not checked")


def test_module_of_strips_function_and_class() -> None:
    assert module_of("pipeline.budgets.xǁDeviceProfileǁlimits__mutmut_3") == "pipeline.budgets"
    assert module_of("pipeline.gltf.extensions.x_register__mutmut_12") == "pipeline.gltf.extensions"


def test_sample_is_proportional_with_a_floor_per_module() -> None:
    sample = stratified_sample(_population(), 100, seed=1)
    per_module = collections.Counter(module_of(name) for name in sample)
    assert per_module == {"pipeline.big": 91, "pipeline.mid": 10, "viewer.small": 4}
    assert len(set(sample)) == len(sample)


def test_same_seed_same_sample_whatever_the_listing_order() -> None:
    population = _population()
    shuffled = dict(reversed(list(population.items())))
    assert stratified_sample(population, 50, seed=7) == stratified_sample(shuffled, 50, seed=7)
    assert stratified_sample(population, 50, seed=7) != stratified_sample(population, 50, seed=8)


def test_wilson_interval_matches_the_textbook_values() -> None:
    low, high = wilson_interval(90, 100)
    assert low == pytest.approx(0.8256, abs=1e-4)
    assert high == pytest.approx(0.9448, abs=1e-4)
    assert wilson_interval(10, 10)[1] == pytest.approx(1.0)
    assert wilson_interval(0, 0) == (0.0, 1.0)
