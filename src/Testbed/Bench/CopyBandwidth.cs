using System.Globalization;
using System.Runtime.InteropServices;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.Runners;
using Testbed.Results;

namespace Testbed.Bench;

/// <summary>
/// Host-to-device and device-to-host copy bandwidth through one accelerator (issue 7, item 4): the
/// physical limit of a migration's copy, which no residency protocol can beat. The host side is
/// page-aligned pageable memory, like the system arena migrations copy from (not pinned: on a GPU,
/// a pinned buffer would measure a limit the migration cannot reach). Sizes run from one page (a
/// CPU fault's <c>MigrateToRam</c>) through 2 MiB (a <c>MigrateToDevice</c> block) to a size large
/// enough for the peak. Each size checks that the bytes come back as they went.
/// </summary>
public static class CopyBandwidth
{
    /// <summary>The curve of one accelerator: one run per size, <c>h2d_gb_per_s</c> and <c>d2h_gb_per_s</c> against KiB.</summary>
    public static ScenarioResult Axis(AcceleratorEntry device, BenchSettings settings, Action<string>? status = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(settings);
        var backend = device.Kind.Name();
        var sizes = settings.Pick(new[] { 4L << 10, 64L << 10, 2L << 20, 16L << 20 }, [4L << 10, 64L << 10, 2L << 20, 64L << 20]);
        var budget = settings.Pick(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(500));
        using var accelerator = device.CreateRunner();
        var runs = sizes.Select(bytes =>
        {
            status?.Invoke($"scaling: copy bandwidth, {backend}, {bytes >> 10} KiB");
            var (h2d, d2h, exact) = Measure(accelerator, bytes, settings.BudgetOverride ?? budget);
            var kib = (bytes >> 10).ToString(CultureInfo.InvariantCulture);
            return new PolicyRun
            {
                Name = $"kib={kib}",
                Policy = backend,
                Settings = new Dictionary<string, string> { ["kib"] = kib, ["device"] = device.Name },
                Metrics = new Dictionary<string, Metric>
                {
                    ["h2d_gb_per_s"] = new(bytes / h2d / 1e9, "GB/s"),
                    ["d2h_gb_per_s"] = new(bytes / d2h / 1e9, "GB/s"),
                    ["h2d_us"] = new(h2d * 1e6, "us"),
                    ["d2h_us"] = new(d2h * 1e6, "us"),
                },
                Invariants = [new Invariant("round_trip_exact", exact, exact
                    ? $"{bytes} bytes copied to the device and back arrived as sent"
                    : $"{bytes} bytes copied to the device and back came back different")],
            };
        }).ToList();
        return new ScenarioResult($"scaling: copy bandwidth ({backend})", new Dictionary<string, string>
        {
            ["x_axis"] = "kib",
            ["curves"] = "h2d_gb_per_s,d2h_gb_per_s",
            ["device"] = device.Name,
            ["host_memory"] = "pageable, page-aligned",
        }, runs);
    }

    /// <summary>
    /// Median seconds of one host-to-device and one device-to-host copy of <paramref name="bytes"/>,
    /// alternating within <paramref name="budget"/>, and whether the last round trip was exact.
    /// </summary>
    public static unsafe (double H2D, double D2H, bool Exact) Measure(KernelRunner accelerator, long bytes, TimeSpan budget)
    {
        ArgumentNullException.ThrowIfNull(accelerator);
        ArgumentOutOfRangeException.ThrowIfLessThan(bytes, sizeof(int));
        var words = (int)(bytes / sizeof(int));
        var from = (int*)NativeMemory.AlignedAlloc((nuint)bytes, 4096);
        var back = (int*)NativeMemory.AlignedAlloc((nuint)bytes, 4096);
        try
        {
            for (var i = 0; i < words; i++)
            {
                from[i] = i ^ 0x5a5a5a5a;
            }

            // Small copies repeat within a sample, so that each sample moves at least 1 MiB.
            var reps = (int)Math.Clamp((1L << 20) / bytes, 1, 256);
            using var buffer = accelerator.Allocate1D<int>(words);
            var (h2d, d2h) = Timing.PerOpPair(
                () =>
                {
                    for (var r = 0; r < reps; r++)
                    {
                        accelerator.CopyFromCPU(buffer.View, new ReadOnlySpan<int>(from, words));
                    }
                },
                reps,
                () =>
                {
                    for (var r = 0; r < reps; r++)
                    {
                        accelerator.CopyToCPU(buffer.View, new Span<int>(back, words));
                    }
                },
                reps,
                budget);
            return (h2d, d2h, new ReadOnlySpan<int>(from, words).SequenceEqual(new ReadOnlySpan<int>(back, words)));
        }
        finally
        {
            NativeMemory.AlignedFree(from);
            NativeMemory.AlignedFree(back);
        }
    }
}
