using System.Globalization;
using System.Text.RegularExpressions;
using Testbed.HostMm;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Tests;

/// <summary>
/// <see cref="Driver.MirrorDevice.Activity"/>, what a stall report says the device was doing: the
/// step of the thread running the device, with how long it has lasted, and "idle" outside a run.
/// </summary>
public sealed partial class MirrorActivityTests
{
    private const int Pages = 4;

    [Fact]
    public void A_run_held_up_names_its_step_and_how_long_it_has_lasted()
    {
        using var t = new DriverFixture(AcceleratorKind.Cpu);
        var va = t.Map(Pages);
        var mirror = t.Mirror(va, Pages);
        Assert.StartsWith("idle, for ", mirror.Activity);

        // The device's first fault migrates, which needs the mmap lock: held here, the run waits in
        // the fault service until it is released.
        t.Mm.MmapLock.DownWrite();
        var err = Errno.EFAULT;
        var run = new Thread(() => err = mirror.Run(DeviceWork.Adds(items: Pages, opsPerItem: 1, firstWord: 0, span: Pages * t.WordsPerPage, stride: t.WordsPerPage)));
        run.Start();
        var (step, seconds) = ("", 0.0);
        while (seconds < 0.2)
        {
            Thread.Sleep(10);
            (step, seconds) = Parse(mirror.Activity);
            Assert.True(run.IsAlive, "the run ended while the mmap lock was held");
        }

        t.Mm.MmapLock.UpWrite();
        run.Join();
        Assert.Equal(Errno.Ok, err);
        Assert.StartsWith("migrating to the device: taking the mmap lock (read)", step);
        Assert.StartsWith("idle, for ", mirror.Activity);
    }

    [Fact]
    public void Steps_taken_outside_a_run_leave_it_idle()
    {
        // A stall report once named an eviction the scenario's migration thread had finished.
        using var t = new DriverFixture(AcceleratorKind.Cpu);
        var va = t.Map(Pages);
        var mirror = t.Mirror(va, Pages);
        t.CpuWrite(va, [1, 2, 3]);
        Assert.Equal(Errno.Ok, mirror.MigrateToDevice(va, Pages));
        Assert.Equal(Pages, mirror.EvictAll());
        Assert.StartsWith("idle, for ", mirror.Activity);
        Assert.Equal(Errno.Ok, mirror.Run(DeviceWork.Adds(items: Pages, opsPerItem: 1, firstWord: 0, span: Pages * t.WordsPerPage, stride: t.WordsPerPage)));
        Assert.StartsWith("idle, for ", mirror.Activity);
    }

    private static (string Step, double Seconds) Parse(string activity)
    {
        var match = ActivityFormat().Match(activity);
        Assert.True(match.Success, activity);
        return (match.Groups[1].Value, double.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture));
    }

    [GeneratedRegex(@"^(.*), for ([0-9.]+) s$")]
    private static partial Regex ActivityFormat();
}
