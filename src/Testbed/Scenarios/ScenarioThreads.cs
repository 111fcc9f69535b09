using System.Runtime.ExceptionServices;

namespace Testbed.Scenarios;

/// <summary>
/// The worker threads of one scenario run (CPU threads beside the device, a sampler). A worker's
/// exception never takes the process down: it is kept, the run's token is cancelled so the other
/// threads stop waiting (on a barrier, for the device), and <see cref="Join()"/> rethrows it. A
/// stalled run calls <see cref="Cancel"/> and abandons the threads, which are background threads.
/// </summary>
/// <remarks>
/// The cancellation source is never disposed: a thread abandoned in a stalled run may still pass
/// the token to a wait long after the run has returned.
/// </remarks>
public sealed class ScenarioThreads
{
    private readonly Thread[] _threads;
    private readonly CancellationTokenSource _cancel = new();
    private ExceptionDispatchInfo? _failure;

    /// <summary>Creates <paramref name="count"/> threads named after <paramref name="name"/>, each running <paramref name="body"/> with its index and the run's token.</summary>
    public ScenarioThreads(int count, string name, Action<int, CancellationToken> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        _threads = new Thread[count];
        for (var t = 0; t < count; t++)
        {
            var index = t;
            _threads[t] = new Thread(() => RunOne(index, body)) { IsBackground = true, Name = $"{name}-{t}" };
        }
    }

    /// <summary>Cancelled when a worker fails or the run is stopped.</summary>
    public CancellationToken Token => _cancel.Token;

    /// <summary>Starts every thread.</summary>
    public void Start()
    {
        foreach (var thread in _threads)
        {
            thread.Start();
        }
    }

    /// <summary>Asks every thread to stop: waits that take <see cref="Token"/> end with <see cref="OperationCanceledException"/>.</summary>
    public void Cancel() => _cancel.Cancel();

    /// <summary>Waits for every thread, then rethrows the first worker's exception, if any.</summary>
    public void Join()
    {
        foreach (var thread in _threads)
        {
            thread.Join();
        }

        _failure?.Throw();
    }

    /// <summary>Waits up to <paramref name="timeout"/> in all for every thread; false if some are still running. Rethrows a worker's exception once all ended.</summary>
    public bool Join(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        foreach (var thread in _threads)
        {
            var left = deadline - DateTime.UtcNow;
            if (!thread.Join(left > TimeSpan.Zero ? left : TimeSpan.Zero))
            {
                return false;
            }
        }

        _failure?.Throw();
        return true;
    }

    private void RunOne(int index, Action<int, CancellationToken> body)
    {
        try
        {
            body(index, _cancel.Token);
        }
        catch (OperationCanceledException) when (_cancel.IsCancellationRequested)
        {
            // Stopped on purpose: another thread failed, or the run was stopped.
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(e), null);
            _cancel.Cancel();
        }
    }
}
