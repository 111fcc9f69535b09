using System.Runtime.ExceptionServices;

namespace Testbed.Kernels.Runners.Cpu;

/// <summary>
/// The direct cpu runner's own threads — its multiprocessors. A launch hands its groups out through
/// one shared counter; the launching thread takes groups too, and the helpers it wakes take the
/// rest. The threads belong to the runner, not to the .NET thread pool: a launch never waits
/// for a pool thread, so a process whose pool is busy with blocked work (a test host running other
/// tests, a scenario's waiting threads) cannot stall a kernel for seconds, which
/// <c>Parallel.For</c> did. One launch runs at a time, as on one stream of a GPU; helpers start
/// with the first launch that needs them and end when the runner is disposed.
/// </summary>
internal sealed class CpuWorkers : IDisposable
{
    private readonly Lock _launch = new();
    private readonly SemaphoreSlim _wake = new(0);
    /// <summary>
    /// Released once per launch by the thread that checks out last. A semaphore, not a
    /// <see cref="ManualResetEventSlim"/>: the event creates its lock object the first time a wait
    /// has to block, so a launch that happened to wait for a helper for the first time allocated.
    /// </summary>
    private readonly SemaphoreSlim _done = new(0);
    private readonly Thread?[] _helpers;
    private Action<int>? _group;
    private int _groups;
    private int _next;
    private int _running;
    private ExceptionDispatchInfo? _failure;
    private bool _disposed;

    /// <summary>Up to <paramref name="parallelism"/> threads run one launch: the caller and <paramref name="parallelism"/> - 1 helpers.</summary>
    public CpuWorkers(int parallelism) => _helpers = new Thread?[Math.Max(0, parallelism - 1)];

    /// <summary>Runs <paramref name="group"/> for every group index below <paramref name="groups"/>; rethrows the first exception a group threw.</summary>
    public void Run(int groups, Action<int> group)
    {
        lock (_launch)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var helpers = Math.Min(_helpers.Length, groups - 1);
            StartHelpers(helpers);
            _group = group;
            _groups = groups;
            _next = -1;
            _failure = null;
            _running = helpers + 1;
            if (helpers > 0)
            {
                _wake.Release(helpers);
            }

            Work();
            _done.Wait();
            _group = null;
            _failure?.Throw();
        }
    }

    /// <summary>Ends the helpers once they are idle.</summary>
    public void Dispose()
    {
        lock (_launch)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _wake.Release(_helpers.Length);
        }
    }

    private void StartHelpers(int count)
    {
        for (var i = 0; i < count; i++)
        {
            if (_helpers[i] is null)
            {
                _helpers[i] = new Thread(Helper) { IsBackground = true, Name = $"cpu runner {i + 1}" };
                _helpers[i]!.Start();
            }
        }
    }

    private void Helper()
    {
        while (true)
        {
            _wake.Wait();
            if (Volatile.Read(ref _disposed))
            {
                return;
            }

            Work();
        }
    }

    /// <summary>Takes groups until none is left (or one failed), then checks out of the launch.</summary>
    private void Work()
    {
        try
        {
            var group = _group!;
            for (var g = Interlocked.Increment(ref _next); g < _groups && Volatile.Read(ref _failure) is null; g = Interlocked.Increment(ref _next))
            {
                group(g);
            }
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(e), null);
        }
        finally
        {
            if (Interlocked.Decrement(ref _running) == 0)
            {
                _done.Release();
            }
        }
    }
}
