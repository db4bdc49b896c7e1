from mtbioner.data.subsample import fraction_size, nested_subsample


def test_subsamples_are_nested_and_sized():
    samples = nested_subsample(1000, [100, 50, 25, 10], seed=7)
    assert [len(samples[f]) for f in (100, 50, 25, 10)] == [1000, 500, 250, 100]
    assert set(samples[10]) < set(samples[25]) < set(samples[50]) < set(samples[100])
    assert all(indices == sorted(indices) for indices in samples.values())  # corpus order kept


def test_seed_fixes_the_sample_and_different_seeds_differ():
    assert nested_subsample(200, [10], seed=1) == nested_subsample(200, [10], seed=1)
    assert nested_subsample(200, [10], seed=1) != nested_subsample(200, [10], seed=2)


def test_fraction_order_does_not_matter():
    assert nested_subsample(300, [10, 100], seed=3)[10] == nested_subsample(300, [100, 50, 10], seed=3)[10]


def test_limit_caps_the_full_set_and_keeps_nesting():
    samples = nested_subsample(1000, [100, 10], seed=5, limit=200)
    assert len(samples[100]) == 200 and len(samples[10]) == 20
    assert set(samples[10]) < set(samples[100])


def test_tiny_sets_keep_at_least_one_sentence():
    assert fraction_size(3, 10) == 1
    assert fraction_size(0, 10) == 0


def test_each_training_seed_draws_its_own_nested_subsample():
    """data.subsample_per_seed: nested within a seed, different across seeds, reproducible."""
    from mtbioner.data.subsample import draw_seed

    draws = {seed: nested_subsample(500, [100, 25, 10], seed=draw_seed(13, seed)) for seed in (13, 42, 87)}
    for samples in draws.values():
        assert set(samples[10]) < set(samples[25]) < set(samples[100])
    assert len({tuple(samples[10]) for samples in draws.values()}) == 3
    assert draws[42] == nested_subsample(500, [100, 25, 10], seed=draw_seed(13, 42))
    assert draw_seed(13, 42) != draw_seed(42, 13)
