using System.Globalization;
using Testbed.Bench;
using Testbed.Bench.Probes;
using Testbed.Report;
using Testbed.Results;
using Testbed.Kernels.Accelerators;

namespace Testbed.Tests;

/// <summary>
/// The ratio suite's machinery: every probe measures what its targets name and tears down clean;
/// targets compare the right way; <c>testbed bench</c> prints the targets table and writes a
/// result the report draws curves from. Whether a target is met is for the benchmark to show
/// (docs/results), never for a timed unit test on a shared machine.
/// </summary>
public sealed class BenchTests
{
    private static BenchSettings Tiny(params AcceleratorKind[] others) =>
        new(Quick: true, Accelerators.Entry(AcceleratorKind.Cpu), [.. others.Select(Accelerators.Entry)], BudgetOverride: TimeSpan.FromMilliseconds(5));

    public static TheoryData<string> ProbeNames => [.. BenchScenario.Probes(Accelerators.Entry(AcceleratorKind.Cpu), []).Select(p => p.Name)];

    [Theory]
    [MemberData(nameof(ProbeNames))]
    public void Each_probe_measures_every_metric_its_targets_name_and_tears_down_clean(string name)
    {
        var settings = Tiny();
        var probe = BenchScenario.Probes(settings.Cpu, []).First(p => p.Name == name);
        var run = probe.Run(settings);
        Assert.All(run.Invariants.Where(i => !i.Name.StartsWith("target ", StringComparison.Ordinal)), i => Assert.True(i.Held, $"{name}: {i.Name}: {i.Detail}"));
        foreach (var target in probe.Targets)
        {
            Assert.True(run.Metrics.TryGetValue(target.Metric, out var m), $"{name}: {target.Metric} missing");
            Assert.True(double.IsFinite(m!.Value) && (m.Value > 0 || (target.Bound == 0 && !target.AtLeast)), $"{name}: {target.Metric} = {m.Value}");
            Assert.Contains(run.Invariants, i => i.Name == $"target {target.Metric}" && i.Detail.Contains(target.Text, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Every_probe_can_run_in_a_build()
    {
        // Only a published testbed lacks the explore probe's rewritten assemblies (GpuCheckPrepareTests
        // shows the bench leaving it out there); a build has them, so no probe here goes unmeasured.
        Assert.All(BenchScenario.Probes(Accelerators.Entry(AcceleratorKind.Cpu), []), p => Assert.Null(p.Unavailable));
    }

    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Kernel_atomics_are_measured_on_each_accelerator_without_faults(AcceleratorKind kind)
    {
        var run = new KernelAtomicsProbe(Accelerators.Entry(kind)).Run(Tiny());
        Assert.Equal(kind.Name(), run.Policy);
        Assert.True(run.Metrics["ratio"].Value > 0);
        Assert.Contains(run.Invariants, i => i.Name == "no_faults" && i.Held);
    }

    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Migrate_vma_splits_a_migration_into_the_copy_through_the_accelerator_and_the_rest_on_each_accelerator(AcceleratorKind kind)
    {
        var run = new MigrateVmaProbe(Accelerators.Entry(kind)).Run(Tiny());
        Assert.Equal(kind.Name(), run.Policy);
        var (copy, rest) = (run.Metrics["copy_us"].Value, run.Metrics["bookkeeping_us"].Value);
        Assert.True(copy > 0 && rest > 0, $"copy {copy} us, the rest {rest} us");
        Assert.Contains($"the copy through the accelerator {copy:0} µs", run.Settings["detail"], StringComparison.Ordinal);

        // The floor is a memcpy on the CPU accelerators, a plain host-to-device copy on the others;
        // ilgpu-cpu is measured for information, with no target.
        var host = kind is AcceleratorKind.Cpu or AcceleratorKind.IlgpuCpu;
        Assert.True(run.Metrics[host ? "memcpy_gb_per_s" : "h2d_gb_per_s"].Value > 0);
        if (kind == AcceleratorKind.IlgpuCpu)
        {
            Assert.Empty(run.Settings["targets"]);
        }
        else
        {
            Assert.Contains(host ? "of a memcpy" : "of a plain copy to the device", run.Settings["targets"], StringComparison.Ordinal);
        }

        Assert.All(run.Invariants.Where(i => !i.Name.StartsWith("target ", StringComparison.Ordinal)), i => Assert.True(i.Held, $"{i.Name}: {i.Detail}"));
    }

    [Fact]
    public void Filter_names_are_the_probe_names_and_an_unknown_filter_is_bad_input()
    {
        Assert.Equal(BenchScenario.Names, BenchScenario.Probes(Accelerators.Entry(AcceleratorKind.Cpu), []).Select(p => p.Name).Distinct());
        var (code, _, error) = CliTests.Testbed("bench", "--filter", "nosuch");
        Assert.Equal(2, code);
        Assert.Contains("no probe matches", error);
        Assert.Single(error.Trim().Split('\n'));
    }

    [Fact]
    public void Targets_compare_at_least_and_at_most_and_say_so()
    {
        var atLeast = new BenchTarget("ratio", 0.5, AtLeast: true, "x", "of a memcpy");
        Assert.True(atLeast.Met(0.5));
        Assert.False(atLeast.Met(0.49));
        Assert.Equal("≥ 0.5x of a memcpy", atLeast.Text);
        var atMost = new BenchTarget("p99_us", 50, AtLeast: false, "us");
        Assert.True(atMost.Met(50));
        Assert.False(atMost.Met(50.1));
        var missed = atMost.Check(72.5, "1000 samples");
        Assert.False(missed.Held);
        Assert.Equal("target p99_us", missed.Name);
        Assert.Equal("measured 72.5 us, target ≤ 50 us; 1000 samples", missed.Detail);
    }

    [Fact]
    public void Pingpong_takes_the_median_of_its_pairs_so_one_run_where_migrate_barely_bounced_does_not_decide()
    {
        static PolicyRun Run(string policy, double migrations, double opsPerS) => new()
        {
            Name = policy,
            Policy = policy,
            Metrics = new Dictionary<string, Metric> { ["migrations"] = new(migrations, "count"), ["useful_ops_per_s"] = new(opsPerS, "ops/s") },
            Invariants = [],
        };

        // The middle pair is the tail of the migrate baseline: 21k migrations, 4.75x fewer.
        var (metrics, spread) = PingpongProbe.Compare(
        [
            (Run("migrate", 648_000, 16e6), Run("uvm-thrashing", 4_840, 131e6)),
            (Run("migrate", 21_375, 74e6), Run("uvm-thrashing", 4_500, 146e6)),
            (Run("migrate", 607_000, 15e6), Run("uvm-thrashing", 4_500, 151e6)),
        ]);
        Assert.Equal(648_000.0 / 4_840, metrics["fewer_migrations"].Value, 6);
        Assert.Equal(131.0 / 16, metrics["ops_ratio"].Value, 6);
        Assert.Equal(4.75, metrics["fewer_migrations_min"].Value, 6);
        Assert.Equal(146.0 / 74, metrics["ops_ratio_min"].Value, 6);
        Assert.Equal(607_000, metrics["migrate_migrations"].Value);
        Assert.Equal(4_500, metrics["uvm_migrations"].Value);
        Assert.Equal("median of 3 pairs of runs (fewer migrations 133.9x, 4.8x, 134.9x; ops/s 8.2x, 2x, 10.1x)", spread);

        var (one, single) = PingpongProbe.Compare([(Run("migrate", 21_375, 74e6), Run("uvm-thrashing", 4_500, 146e6))]);
        Assert.Equal(4.75, one["fewer_migrations"].Value, 6);
        Assert.Equal("one pair of runs", single);
    }

    [Fact]
    public void Median_is_the_middle_and_ignores_an_outlier()
    {
        Assert.Equal(2, Timing.Median([1, 2, 1000]));
        Assert.Equal(2.5, Timing.Median([4, 1, 2, 3]));
        Assert.True(double.IsNaN(Timing.Median([])));
    }

    [Fact]
    public void The_report_draws_one_curve_per_metric_named_against_the_x_axis()
    {
        var runs = new[] { 1024, 4096, 16384 }.Select(x => new PolicyRun
        {
            Name = $"pages={x}",
            Policy = "-",
            Settings = new Dictionary<string, string> { ["pages"] = x.ToString(CultureInfo.InvariantCulture) },
            Metrics = new Dictionary<string, Metric> { ["a_per_s"] = new(x * 2.0, "a/s"), ["b_per_s"] = new(x * 3.0, "b/s") },
            Invariants = [new Invariant("frames_balanced", true, "ok")],
        }).ToList();
        var doc = ResultJsonTests.Sample() with
        {
            Scenarios = [new ScenarioResult("scaling: pages", new Dictionary<string, string> { ["x_axis"] = "pages", ["curves"] = "a_per_s,b_per_s" }, runs)],
        };
        var html = HtmlReport.Render(doc);
        Assert.Contains("scaling: pages: a_per_s vs pages", html);
        Assert.Contains("scaling: pages: b_per_s vs pages", html);
        Assert.Equal(2, html.Split("<svg class=\"chart\"").Length - 1);
    }

    [Fact]
    public void A_curve_over_decades_is_drawn_on_a_log_scale_and_a_narrow_one_linearly()
    {
        static List<double> Xs(string svg) => [.. System.Text.RegularExpressions.Regex.Matches(svg, "<circle class=\"mark\" cx=\"([0-9.]+)\"").Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))];

        var sizes = LineChart.Render("copy", "kib", "GB/s", [("h2d", [(4, 1), (64, 2), (2048, 3), (65536, 4)])]);
        var x = Xs(sizes);
        Assert.Contains("kib (log scale)", sizes);
        Assert.Equal(4, x.Count);
        // 4 -> 64 is 16x of a 16384x span: 2/7 of the width on a log scale, 0.1% on a linear one.
        Assert.InRange((x[1] - x[0]) / (x[3] - x[0]), 0.27, 0.30);

        var ratios = LineChart.Render("oversubscription", "ratio", "ops/s", [("ops", [(0.5, 1), (1.25, 2), (2, 3)])]);
        x = Xs(ratios);
        Assert.DoesNotContain("log scale", ratios);
        Assert.InRange((x[1] - x[0]) / (x[2] - x[0]), 0.49, 0.51);
    }

    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Copy_bandwidth_is_measured_both_ways_on_each_accelerator_and_the_bytes_come_back_exact(AcceleratorKind kind)
    {
        var device = Accelerators.Entry(kind);
        var result = CopyBandwidth.Axis(device, Tiny());
        Assert.Equal($"scaling: copy bandwidth ({kind.Name()})", result.Scenario);
        Assert.Equal("kib", result.Parameters["x_axis"]);
        Assert.Equal(["4", "64", "2048", "16384"], result.Runs.Select(r => r.Settings["kib"]));
        Assert.All(result.Runs, r =>
        {
            Assert.True(r.Metrics["h2d_gb_per_s"].Value is > 0 and < double.PositiveInfinity, $"{r.Name}: h2d {r.Metrics["h2d_gb_per_s"].Value}");
            Assert.True(r.Metrics["d2h_gb_per_s"].Value is > 0 and < double.PositiveInfinity, $"{r.Name}: d2h {r.Metrics["d2h_gb_per_s"].Value}");
            Assert.Contains(r.Invariants, i => i.Name == "round_trip_exact" && i.Held);
        });
    }

    [Fact]
    public void Bench_quick_prints_the_targets_table_and_writes_a_result_with_curves()
    {
        var dir = Directory.CreateTempSubdirectory("testbed-bench-");
        try
        {
            var json = Path.Combine(dir.FullName, "bench.json");
            var (code, output, error) = CliTests.Testbed("bench", "--quick", "--json", json);
            Assert.True(code is 0 or 1, $"exit {code}: {error}");
            foreach (var probe in BenchScenario.Probes(Accelerators.Entry(AcceleratorKind.Cpu), []))
            {
                Assert.Contains(probe.Name, output);
            }

            Assert.Contains("measured", output);
            Assert.Contains("target", output);
            var doc = ResultJson.Read(File.ReadAllText(json));
            Assert.Equal("bench", doc.Command);
            Assert.Equal(code == 0, doc.Scenarios.Single(s => s.Scenario == "bench").Runs.All(r => r.Held));
            foreach (var axis in new[] { "pages", "CPU threads", "fault batch size", "oversubscription", "copy bandwidth (cpu)" })
            {
                Assert.Contains(doc.Scenarios, s => s.Scenario == $"scaling: {axis}" && s.Parameters.ContainsKey("x_axis") && s.Runs.Count >= 4);
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
