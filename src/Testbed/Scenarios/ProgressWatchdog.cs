using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Testbed.Results;

namespace Testbed.Scenarios;

/// <summary>
/// The progress watchdog of DESIGN §5: runs a scenario's body on its own thread and watches a
/// progress count (operations completed); when the count stays still for the bound, the run stops
/// waiting and reports a livelock or deadlock as a failed <c>progress</c> invariant that says what
/// each thread and the device were doing. The testbed never hangs on the bugs it exists to find;
/// the stuck thread is a background thread and is abandoned, together with its address space.
/// </summary>
/// <remarks>
/// The watchdog looks every 10 ms. When it was itself kept off the CPU for longer than
/// <see cref="PauseThreshold"/> (a paused virtual machine, a long GC suspension, a host starved by
/// other processes), that gap is not counted as standing still: every thread of the run was held up
/// alike, so it says nothing about a livelock, and counting it reported false stalls on shared CI
/// machines.
/// </remarks>
public static class ProgressWatchdog
{
    /// <summary>A gap between two looks longer than this is the process not running, not the run standing still.</summary>
    public static readonly TimeSpan PauseThreshold = TimeSpan.FromMilliseconds(250);

    /// <summary>Runs <paramref name="body"/>; the <c>progress</c> invariant says whether it finished without stalling.</summary>
    /// <param name="what">What the body does, for the report.</param>
    /// <param name="body">The work.</param>
    /// <param name="progress">Operations completed so far; must keep moving.</param>
    /// <param name="bound">How long it may stand still.</param>
    /// <param name="waiting">What each thread and the device are doing, read when the run stalls.</param>
    public static Invariant Guard(string what, Action body, Func<long> progress, TimeSpan bound, Func<string> waiting)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(progress);
        ArgumentNullException.ThrowIfNull(waiting);
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                body();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        })
        { IsBackground = true, Name = $"testbed {what}" };
        var clock = Stopwatch.StartNew();
        thread.Start();
        var last = progress();
        var lastMove = clock.Elapsed;
        var lastLook = lastMove;
        while (!thread.Join(10))
        {
            var now = progress();
            var look = clock.Elapsed;
            if (look - lastLook > PauseThreshold)
            {
                lastMove += look - lastLook;
            }

            lastLook = look;
            if (now != last)
            {
                (last, lastMove) = (now, clock.Elapsed);
            }
            else if (clock.Elapsed - lastMove > bound)
            {
                return new Invariant("progress", false, $"no operation completed for {bound.TotalSeconds:0.###} s during {what} (after {last} operations); waiting: {waiting()}");
            }
        }

        failure?.Throw();
        return new Invariant("progress", true, $"{what} finished in {clock.Elapsed.TotalSeconds:0.###} s");
    }
}
