using Testbed.Scenarios;

namespace Testbed.Tests;

/// <summary>
/// Scenario worker threads never take the process down: a failing worker's exception reaches the
/// run, and the threads waiting beside it are released (before, a pingpong run whose device side
/// failed disposed the barrier under its CPU threads and crashed the test host).
/// </summary>
public sealed class ScenarioThreadsTests
{
    [Fact]
    public void A_failing_worker_releases_the_others_and_its_error_reaches_join()
    {
        var barrier = new Barrier(3);
        var released = 0;
        var threads = new ScenarioThreads(3, "test", (t, token) =>
        {
            if (t == 2)
            {
                throw new InvalidOperationException("worker 2 failed");
            }

            try
            {
                barrier.SignalAndWait(token);
            }
            finally
            {
                Interlocked.Increment(ref released);
            }
        });
        threads.Start();
        var e = Assert.Throws<InvalidOperationException>(threads.Join);
        Assert.Equal("worker 2 failed", e.Message);
        Assert.Equal(2, released);
        Assert.True(threads.Token.IsCancellationRequested);
    }

    [Fact]
    public void Cancel_releases_workers_waiting_on_the_token_and_join_reports_no_error()
    {
        var threads = new ScenarioThreads(2, "test", (_, token) => token.WaitHandle.WaitOne());
        threads.Start();
        Assert.False(threads.Join(TimeSpan.FromMilliseconds(50)));
        threads.Cancel();
        Assert.True(threads.Join(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void Canceled_waits_are_not_errors()
    {
        var threads = new ScenarioThreads(2, "test", (_, token) => new Barrier(3).SignalAndWait(token));
        threads.Start();
        threads.Cancel();
        threads.Join();
    }
}
