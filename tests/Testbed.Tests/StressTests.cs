using Testbed.HostMm.Cpu;
using Testbed.Results;
using Testbed.Scenarios;
using Testbed.Kernels.Accelerators;

namespace Testbed.Tests;

/// <summary>
/// The shadow-memory oracle (<c>testbed run stress</c>): at CI size it runs more than 10^5
/// operations with every word exact, nothing leaked and the lock validator silent; it does fail
/// when a word changes behind its back, naming the seed; and a seed replays the same operations.
/// </summary>
public sealed class StressTests
{
    private static ScenarioResult Run(int seed, StressScenario? scenario = null, int? rounds = null, ScenarioSettings? settings = null) =>
        (scenario ?? new StressScenario()).Run(new ScenarioContext((settings ?? new ScenarioSettings()) with { Seed = seed, Rounds = rounds }, Accelerators.Entry(AcceleratorKind.Cpu)));

    [Fact]
    public void Ci_size_runs_over_a_hundred_thousand_ops_with_every_word_exact_and_nothing_leaked()
    {
        var result = Run(seed: 11);
        Assert.All(result.Runs.SelectMany(r => r.Invariants), i => Assert.True(i.Held, $"{i.Name}: {i.Detail}"));
        foreach (var run in result.Runs)
        {
            Assert.True(run.Metrics["ops"].Value >= 100_000, $"{run.Name}: fewer than 10^5 ops at CI size");
            Assert.True(run.Metrics["fatal_faults"].Value > 0, $"{run.Name}: no device kernel ran into an unmapped hole");
            Assert.Equal(0, run.Metrics["mismatches"].Value);
            Assert.Equal(0, run.Metrics["leaked_frames"].Value);
            Assert.Equal(0, run.Metrics["lockdep_reports"].Value);
            Assert.True(run.Metrics["migrations"].Value > 0, $"{run.Name}: nothing migrated");
        }

        Assert.True(result.Runs[0].Metrics["evicted_pages"].Value > 0, "migrate never evicted");
        Assert.True(result.Runs.Sum(r => r.Metrics["forks"].Value + r.Metrics["munmaps"].Value + r.Metrics["mprotects"].Value) > 0);
    }

    [Fact]
    public void With_thp_on_every_word_stays_exact_through_thp_faults_splits_and_whole_thp_moves()
    {
        var result = Run(seed: 1, rounds: 8, settings: new ScenarioSettings { Policies = ["migrate", "exclusive"], Options = new Dictionary<string, string> { ["thp"] = "on" } });

        Assert.All(result.Runs.SelectMany(r => r.Invariants), i => Assert.True(i.Held, $"{i.Name}: {i.Detail}"));
        Assert.True(result.Runs.Sum(r => r.Metrics["thp_faults"].Value + r.Metrics["thp_migrations"].Value) > 0, "no THP was mapped or moved");
        Assert.True(result.Runs.Sum(r => r.Metrics["thp_splits"].Value) > 0, "no THP was split");
    }

    [Fact]
    public void A_word_changed_behind_the_shadow_is_caught_and_the_failure_names_the_seed()
    {
        var sabotage = new StressScenario((mm, va, phase) =>
        {
            if (phase == 2)
            {
                using var cpu = new CpuContext(mm);
                Assert.Equal(HostMm.Errno.Ok, cpu.AtomicAdd(va + 12, 1, out int _));
            }
        });
        var result = Run(seed: 5, sabotage, rounds: 4, new ScenarioSettings { Coherence = LinkCoherence.NonCoherent, StallTimeout = TimeSpan.FromSeconds(7.5) });
        foreach (var run in result.Runs)
        {
            var oracle = Assert.Single(run.Invariants, i => i.Name == "shadow_exact");
            Assert.False(oracle.Held);
            Assert.Contains("seed 5", oracle.Detail);
            Assert.Contains($"replay with `testbed run stress --accelerator cpu --policy {run.Policy} --seed 5 --pages 32 --threads 2 --rounds 4 --coherence noncoherent --stall-timeout 7.5`", oracle.Detail);
            Assert.Contains("phase 2", oracle.Detail);
            Assert.True(run.Metrics["mismatches"].Value >= 1);
        }
    }

    /// <summary>
    /// Stress at 65536 pages with a half-second stall window: checking every word after a phase
    /// (64 Mi words through the CPU) took longer than the window and did not count as progress, so
    /// the run failed <c>progress</c>, naming CPU threads that had finished as waiting. The check now
    /// reports progress block by block, the device's launches count, and a finished thread leaves
    /// the waiting line.
    /// </summary>
    [Fact]
    public void A_seed_replays_the_same_operations()
    {
        static string Plan(ScenarioResult r) => string.Join(";", r.Runs.Select(run => $"{run.Metrics["forks"].Value},{run.Metrics["munmaps"].Value},{run.Metrics["mprotects"].Value}"));
        Assert.Equal(Plan(Run(seed: 3, rounds: 6)), Plan(Run(seed: 3, rounds: 6)));
        Assert.NotEqual(Plan(Run(seed: 3, rounds: 6)), Plan(Run(seed: 4, rounds: 6)));
    }
}

/// <summary>The stress scenario's progress reporting at 65536 pages, within a half-second stall window: run alone, as the window is the point.</summary>
[Collection(AloneCollection.Name)]
public sealed class StressWindowTests
{
    [Fact]
    public void Sixty_five_thousand_pages_check_every_word_within_a_half_second_stall_window()
    {
        var (code, output, error) = CliTests.Testbed("run", "stress", "--pages", "65536", "--rounds", "2", "--policy", "remote", "--stall-timeout", "0.5");
        Assert.True(code == 0, output + error);
        Assert.Contains("6 of 6 invariants held", output);
    }
}
