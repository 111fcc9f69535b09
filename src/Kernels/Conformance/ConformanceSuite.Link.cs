using System.Runtime.InteropServices;
using ILGPU;
using Testbed.Kernels.DeviceCode;
using Testbed.Kernels.Runners;

namespace Testbed.Kernels.Conformance;

public static partial class ConformanceSuite
{
    /// <summary>The emulated link's delay in these checks: about 12 µs on the 2-core CI machine.</summary>
    private const int LinkDelaySteps = 2000;

    private static ConformanceCheck[] LinkChecks =>
    [
        new("link-device-atomic", "device adds on host memory stay atomic among themselves, with the emulated link on and off", DeviceAtomicAcrossTheLink),
        new("link-emulated-loses-cpu-updates", "across the emulated non-coherent link, device adds racing CPU atomics lose updates", EmulatedLinkLosesUpdates),
        new("link-native", "CPU atomics racing device atomics on mapped host memory: none lost where the device reports host-native atomics; what is lost is reported", NativeLink),
    ];

    private static unsafe ConformanceOutcome DeviceAtomicAcrossTheLink(KernelRunner runner) => WithLink(runner, 0, () =>
    {
        foreach (var delay in new[] { 0, 50 })
        {
            runner.EmulateNonCoherentLink(delay);
            var (device, _, value) = RaceOnHostWord(runner, 20_000, race: false);
            if (value != device)
            {
                return ConformanceOutcome.Fail($"{device} device adds left {value} (link delay {delay})");
            }
        }

        return ConformanceOutcome.Pass("20,000 device adds counted exactly, emulated link on and off");
    });

    private static ConformanceOutcome EmulatedLinkLosesUpdates(KernelRunner runner) => WithLink(runner, LinkDelaySteps, () =>
    {
        // A race: on a loaded machine one run can miss it (the CPU racer not running while the device
        // adds), so up to three runs, of which one must lose an update.
        var measured = new Dictionary<string, double>();
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            var (device, host, value) = RaceOnHostWord(runner, 20_000, race: true);
            var lost = device + host - value;
            measured["lost_updates"] = lost;
            if (lost > 0)
            {
                return ConformanceOutcome.Pass($"lost {lost} of {device + host} updates (device {device}, CPU {host}) in run {attempt}", measured);
            }
        }

        return ConformanceOutcome.Fail("three runs across the emulated link lost no update: the check cannot fail as it should", measured);
    });

    private static ConformanceOutcome NativeLink(KernelRunner runner) => WithLink(runner, 0, () =>
    {
        var (device, host, value) = RaceOnHostWord(runner, runner.Kind is Accelerators.AcceleratorKind.Cuda ? 1 << 22 : 100_000, race: true);
        var lost = device + host - value;
        var measured = new Dictionary<string, double> { ["lost_updates"] = lost, ["device_ops"] = device, ["cpu_ops"] = host };
        var what = $"{device} device adds and {host} CPU adds on one mapped word: {lost} lost; the device reports host-native atomics: {(runner.HostAtomicsCoherent ? "yes" : "no")}";
        return runner.HostAtomicsCoherent && lost != 0 ? ConformanceOutcome.Fail(what, measured) : ConformanceOutcome.Pass(what, measured);
    });

    /// <summary>
    /// <paramref name="deviceOps"/> device adds to one word of mapped host memory, with a CPU thread
    /// adding to it the whole time when <paramref name="race"/>; the adds each side made and what the
    /// word holds after.
    /// </summary>
    private static unsafe (long Device, long Host, long Value) RaceOnHostWord(KernelRunner runner, int deviceOps, bool race)
    {
        var word = (int*)NativeMemory.AlignedAlloc(4096, 4096);
        *word = 0;
        try
        {
            using var mapped = runner.MapHost(word, 1);
            var launch = runner.LoadAutoGroupedStreamKernel<LinkEmulation, ArrayView<int>>(ConformanceKernels.LinkedAdds);
            var stop = 0;
            var host = 0L;
            using var running = new ManualResetEventSlim();
            var racer = new Thread(() =>
            {
                running.Set();
                while (Volatile.Read(ref stop) == 0)
                {
                    Interlocked.Increment(ref *word);
                    host++;
                }
            });
            if (race)
            {
                racer.Start();
                running.Wait();
            }

            launch(deviceOps, runner.Link, mapped.View);
            runner.Synchronize();
            if (race)
            {
                Volatile.Write(ref stop, 1);
                racer.Join();
            }

            return (deviceOps, host, Volatile.Read(ref *word));
        }
        finally
        {
            NativeMemory.AlignedFree(word);
        }
    }

    /// <summary>Runs <paramref name="check"/> with the runner's link emulated at <paramref name="delaySteps"/> (0: native), and puts the runner's own setting back.</summary>
    private static ConformanceOutcome WithLink(KernelRunner runner, int delaySteps, Func<ConformanceOutcome> check)
    {
        var before = runner.Link.DelaySteps;
        runner.EmulateNonCoherentLink(delaySteps);
        try
        {
            return check();
        }
        finally
        {
            runner.EmulateNonCoherentLink(before);
        }
    }
}
