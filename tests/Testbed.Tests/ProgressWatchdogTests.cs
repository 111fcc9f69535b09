using Testbed.Results;
using Testbed.Scenarios;

using Testbed.Kernels.Accelerators;

namespace Testbed.Tests;

/// <summary>The progress watchdog stops waiting on a stuck run and says what it was waiting on.</summary>
public sealed class ProgressWatchdogTests
{
    [Fact]
    public void A_stuck_body_is_reported_as_a_failed_progress_invariant()
    {
        using var never = new ManualResetEventSlim();
        var result = ProgressWatchdog.Guard("stuck test", () => never.Wait(), () => 0, TimeSpan.FromMilliseconds(100), () => "cpu-0: waiting on a lock");
        Assert.False(result.Held);
        Assert.Equal("progress", result.Name);
        Assert.Contains("stuck test", result.Detail);
        Assert.Contains("cpu-0: waiting on a lock", result.Detail);
        never.Set();
    }

    [Fact]
    public void A_body_that_keeps_progressing_is_not_stopped()
    {
        var ops = 0L;
        var result = ProgressWatchdog.Guard("busy test", () =>
        {
            for (var i = 0; i < 30; i++)
            {
                Thread.Sleep(10);
                Interlocked.Increment(ref ops);
            }
        }, () => Interlocked.Read(ref ops), TimeSpan.FromMilliseconds(100), () => string.Empty);
        Assert.True(result.Held, result.Detail);
    }

    [Fact]
    public void Time_the_watchdog_itself_was_held_off_the_cpu_is_not_a_stall()
    {
        // Each look takes longer than the bound, as when the machine pauses the whole process: no
        // thread of the run could move either, so it is no evidence of a livelock.
        using var finish = new ManualResetEventSlim();
        var looks = 0;
        var result = ProgressWatchdog.Guard("paused test", () => finish.Wait(), () =>
        {
            if (++looks == 4)
            {
                finish.Set();
            }

            Thread.Sleep(ProgressWatchdog.PauseThreshold * 1.5);
            return 0;
        }, ProgressWatchdog.PauseThreshold, () => string.Empty);
        Assert.True(result.Held, result.Detail);
    }

    [Fact]
    public void A_body_that_throws_rethrows_on_the_caller()
    {
        Assert.Throws<InvalidOperationException>(() => ProgressWatchdog.Guard("throwing", () => throw new InvalidOperationException("x"), () => 0, TimeSpan.FromSeconds(5), () => string.Empty));
    }

    [Fact]
    public void A_stalled_run_reports_its_failure_and_the_abandoned_teardown()
    {
        using var rig = new ScenarioRig(new ScenarioContext(new ScenarioSettings(), AcceleratorCatalog.Cpu), LinkCoherence.Native);
        var run = rig.Stalled("migrate", "migrate", null, new Invariant("progress", false, "stuck"));
        Assert.False(run.Held);
        Assert.Empty(run.Metrics);
        Assert.Equal(["progress", "teardown"], run.Invariants.Select(i => i.Name));
        Assert.All(run.Invariants, i => Assert.False(i.Held));
    }
}
