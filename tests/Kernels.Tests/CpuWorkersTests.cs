using Testbed.Kernels.Cpu;

namespace Testbed.Kernels.Tests;

/// <summary>
/// The Cpu accelerator's own threads: every group runs exactly once, errors reach the launcher,
/// and groups run on the launching thread or the accelerator's own threads, never on another .NET thread-pool thread — with <c>Parallel.For</c> a test host whose pool
/// was busy made a launch wait seconds for a pool thread, and the scenarios' watchdog saw a stall.
/// </summary>
public sealed class CpuWorkersTests
{
    [Fact]
    public void Every_group_runs_once_on_the_launcher_or_the_accelerators_own_threads()
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
                var own = Environment.CurrentManagedThreadId == caller || Thread.CurrentThread.Name?.StartsWith("cpu accelerator", StringComparison.Ordinal) == true;
                Interlocked.Add(ref elsewhere, own ? 0 : 1);
            });
            Assert.All(runs, r => Assert.Equal(1, r));
            Assert.Equal(0, elsewhere);
        }
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
