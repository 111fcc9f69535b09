using Testbed.Scenarios;
using Testbed.Kernels.Accelerators;

namespace Testbed.Tests;

/// <summary>
/// <c>pingpong --mode</c> and <c>--devices</c>: lockstep rounds and concurrent access both end with every word exact, with one device or two;
/// a list of modes runs each as its own variant; in concurrent mode the CPU threads keep sweeping
/// while the device works, and their sweeps are what the totals are checked against.
/// </summary>
public sealed class PingpongModeTests
{
    [Fact]
    public void Both_modes_end_exact_and_concurrent_cpus_sweep_at_least_once()
    {
        const int pages = 8, threads = 2, rounds = 4;
        var settings = new ScenarioSettings
        {
            Policies = ["migrate"],
            Pages = pages,
            Threads = threads,
            Rounds = rounds,
            Options = new Dictionary<string, string> { ["mode"] = "alternate,concurrent" },
        };
        var result = new PingpongScenario().Run(new ScenarioContext(settings, Accelerators.Entry(AcceleratorKind.Cpu)));

        Assert.Equal(["migrate mode=alternate", "migrate mode=concurrent"], result.Runs.Select(r => r.Name));
        Assert.All(result.Runs, r => Assert.Equal("migrate", r.Policy));
        Assert.All(result.Runs.SelectMany(r => r.Invariants), i => Assert.True(i.Held, $"{i.Name}: {i.Detail}"));
        Assert.Equal("alternate,concurrent", result.Parameters["mode"]);

        var deviceOps = pages * 2 * 16 * rounds;
        Assert.Equal(deviceOps + (threads * pages * rounds), result.Runs[0].Metrics["useful_ops"].Value);
        Assert.True(result.Runs[1].Metrics["useful_ops"].Value >= deviceOps + (threads * pages));
    }

    [Theory]
    [InlineData("alternate")]
    [InlineData("concurrent")]
    public void Two_devices_pass_pages_through_system_memory_and_every_word_ends_exact(string mode)
    {
        const int pages = 8, threads = 1, rounds = 6;
        var settings = new ScenarioSettings
        {
            Policies = ["migrate", "uvm-thrashing"],
            Pages = pages,
            Threads = threads,
            Rounds = rounds,
            Options = new Dictionary<string, string> { ["mode"] = mode, ["devices"] = "2" },
        };
        var result = new PingpongScenario().Run(new ScenarioContext(settings, Accelerators.Entry(AcceleratorKind.Cpu)));

        Assert.Equal("2", result.Parameters["devices"]);
        Assert.All(result.Runs.SelectMany(r => r.Invariants), i => Assert.True(i.Held, $"{i.Name}: {i.Detail}"));
        var migrate = result.Runs[0].Metrics;
        if (mode == "alternate")
        {
            // The devices run one after the other on one thread, so the second finds pages the first
            // just took. In concurrent mode the OS may run the two device threads one after the other,
            // with the CPU sweeps pulling every page back between them: only the totals are certain.
            Assert.True(migrate["device_to_device"].Value > 0, "under migrate the second device's faults took pages from the first");
        }

        Assert.True(migrate["migrations"].Value >= 2 * migrate["device_to_device"].Value, "each page passed between devices moved twice");
        var deviceOps = 2 * pages * 2 * 16 * rounds;
        Assert.True(migrate["useful_ops"].Value >= deviceOps + (threads * pages), $"{migrate["useful_ops"].Value} useful ops");
    }

    [Fact]
    public void A_device_count_outside_one_to_four_or_several_devices_with_coherent_memory_is_bad_input()
    {
        Assert.Null(PingpongScenario.Devices.Check("4"));
        Assert.Equal("'5' is not a device count from 1 to 4", PingpongScenario.Devices.Check("5"));
        Assert.NotNull(PingpongScenario.Devices.Check("0"));
        Assert.NotNull(PingpongScenario.Devices.Check("two"));
        var (code, _, error) = CliTests.Testbed("run", "pingpong", "--devices", "9");
        Assert.Equal(2, code);
        Assert.Contains("--devices: '9' is not a device count from 1 to 4", error);
        (code, _, error) = CliTests.Testbed("run", "pingpong", "--devices", "2", "--policy", "migrate,coherent");
        Assert.Equal(2, code);
        Assert.Equal("testbed: pingpong --devices 2: policy 'coherent' needs one device (a device cannot map another's coherent memory: this model has no peer mappings)", error.Trim());
    }

    [Fact]
    public void Stays_between_migrations_are_counted_in_power_of_two_microsecond_buckets()
    {
        var c = new Driver.MirrorCounters();
        var us = System.Diagnostics.Stopwatch.Frequency / 1_000_000;
        Assert.Equal(0, c.MedianStayMicroseconds());
        foreach (var stay in new[] { 0L, 1, 3, 300, 500, 700, 10_000_000_000 })
        {
            c.Stay(stay * us);
        }

        var buckets = c.Stays();
        Assert.Equal(Driver.MirrorCounters.StayBuckets, buckets.Length);
        Assert.Equal([1L, 1, 1, 0, 0, 0, 0, 0, 0, 2, 1], buckets[..11]);
        Assert.Equal(1, buckets[^1]);
        Assert.Equal(7, buckets.Sum());
        Assert.Equal(512, c.MedianStayMicroseconds());

        // A block migration's tally lands in the same buckets as one stay at a time.
        Span<int> tally = stackalloc int[Driver.MirrorCounters.StayBuckets];
        foreach (var stay in new[] { 0L, 3, 700 })
        {
            tally[Driver.MirrorCounters.StayBucket(stay * us)]++;
        }

        c.AddStays(tally);
        Assert.Equal([2L, 1, 2, 0, 0, 0, 0, 0, 0, 2, 2], c.Stays()[..11]);
    }

    [Fact]
    public void The_mode_defaults_to_alternate_when_the_settings_leave_it_out()
    {
        var settings = new ScenarioSettings { Policies = ["remote"], Pages = 4, Threads = 2, Rounds = 2 };
        var result = new PingpongScenario().Run(new ScenarioContext(settings, Accelerators.Entry(AcceleratorKind.Cpu)));
        Assert.Equal("alternate", result.Parameters["mode"]);
        Assert.Equal("remote", Assert.Single(result.Runs).Name);
    }
}

/// <summary>UVM's thrashing detection in concurrent pingpong: pages must bounce three times within its 500 µs lapse, so it runs alone.</summary>
[Collection(AloneCollection.Name)]
public sealed class PingpongThrashingTests
{
    [Fact]
    public void Concurrent_hot_pages_thrash_under_uvm_thrashing_and_the_run_reports_it()
    {
        var settings = new ScenarioSettings
        {
            Policies = ["migrate", "uvm-thrashing"],
            Pages = 8,
            Threads = 2,
            Rounds = 5000,
            Options = new Dictionary<string, string> { ["mode"] = "concurrent" },
        };
        var result = new PingpongScenario().Run(new ScenarioContext(settings, Accelerators.Entry(AcceleratorKind.Cpu)));

        Assert.All(result.Runs.SelectMany(r => r.Invariants), i => Assert.True(i.Held, $"{i.Name}: {i.Detail}"));
        Assert.Equal(0, result.Runs[0].Metrics["thrashing_detected"].Value);
        Assert.True(result.Runs[1].Metrics["thrashing_detected"].Value >= 1, "no page of 8 bounced three times within 500 µs in 5000 rounds");
        Assert.True(result.Runs[0].Metrics["migrations"].Value > 0);
        Assert.True(result.Runs[0].Metrics["median_stay_us"].Value >= 1, "migrate moved pages back and forth, so their stays were measured");
    }
}
