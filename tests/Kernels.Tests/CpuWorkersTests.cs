using Testbed.Kernels.Runners.Cpu;

namespace Testbed.Kernels.Tests;

/// <summary>
/// The direct cpu runner's own threads: every group runs exactly once, errors reach the launcher,
/// and groups run on the launching thread or the runner's own threads, never on another .NET thread-pool thread — with <c>Parallel.For</c> a test host whose pool
/// was busy made a launch wait seconds for a pool thread, and the scenarios' watchdog saw a stall.
/// </summary>
public sealed class CpuWorkersTests
{
    [Fact]
    public void Every_group_runs_once_on_the_launcher_or_the_runners_own_threads()
    {
        using var workers = new CpuWorkers(4);
        for (var launch = 0; launch < 50; launch++)
        {
            var runs = new int[37];
            var elsewhere = 0;
            var caller = Environment.CurrentManagedThreadId;
            workers.Run(runs.Length, g =>
            {
                Interlocked.Increment(ref runs[g]);
                var own = Environment.CurrentManagedThreadId == caller || Thread.CurrentThread.Name?.StartsWith("cpu runner", StringComparison.Ordinal) == true;
                Interlocked.Add(ref elsewhere, own ? 0 : 1);
            });
            Assert.All(runs, r => Assert.Equal(1, r));
            Assert.Equal(0, elsewhere);
        }
    }

    /// <summary>
    /// The launcher's first wait for a helper that is still running allocates nothing: it blocks, and
    /// a <see cref="ManualResetEventSlim"/> created its lock object on the first blocking wait, so a
    /// launch allocated 24 bytes whenever that first happened late (a test host under load saw it).
    /// </summary>
    [Fact]
    public void Waiting_for_a_helper_still_running_allocates_nothing()
    {
        using var workers = new CpuWorkers(2);
        var launcher = Environment.CurrentManagedThreadId;
        var helperStarted = 0;
        Action<int> group = _ =>
        {
            if (Environment.CurrentManagedThreadId == launcher)
            {
                while (Volatile.Read(ref helperStarted) == 0)
                {
                    Thread.SpinWait(20);
                }
            }
            else
            {
                Volatile.Write(ref helperStarted, 1);
                Thread.Sleep(50);
            }
        };
        workers.Run(2, _ => { });
        var before = GC.GetAllocatedBytesForCurrentThread();
        workers.Run(2, group);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(1, helperStarted);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void A_group_exception_reaches_the_launcher_and_the_workers_stay_usable()
    {
        using var workers = new CpuWorkers(3);
        var e = Assert.Throws<InvalidOperationException>(() => workers.Run(10, g => throw new InvalidOperationException($"group {g}")));
        Assert.StartsWith("group ", e.Message);
        var total = 0;
        workers.Run(10, _ => Interlocked.Increment(ref total));
        Assert.Equal(10, total);
    }

    [Fact]
    public void A_disposed_worker_set_refuses_launches()
    {
        var workers = new CpuWorkers(2);
        workers.Run(2, _ => { });
        workers.Dispose();
        Assert.Throws<ObjectDisposedException>(() => workers.Run(1, _ => { }));
    }
}
