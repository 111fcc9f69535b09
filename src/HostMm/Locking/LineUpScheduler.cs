namespace Testbed.HostMm.Locking;

/// <summary>
/// An adversarial scheduler for seed 001 (the <c>do_swap_page</c> livelock): at every preemption
/// point it holds each arriving thread until <c>parties</c> threads have arrived (or <c>window</c>
/// has passed since the first did), then releases them together. With the two points of
/// <c>DoSwapPage</c> this makes every faulting thread take its reference before any migration checks
/// the refcount, and keep it until all are done. Install it as <see cref="SyncDomain.Scheduler"/>;
/// <see cref="Disable"/> lets every held thread go.
/// </summary>
public sealed class LineUpScheduler(int parties, TimeSpan window) : IModelScheduler
{
    private readonly object _gate = new();
    private int _arrived;
    private long _generation;
    private bool _enabled = true;

    /// <inheritdoc/>
    public void OnSchedulePoint(SchedulePoint point, LockClass? cls, object instance)
    {
        if (point != SchedulePoint.Preempt)
        {
            return;
        }

        lock (_gate)
        {
            if (!_enabled)
            {
                return;
            }

            var generation = _generation;
            if (++_arrived == parties)
            {
                Release();
                return;
            }

            var deadline = Environment.TickCount64 + (long)window.TotalMilliseconds;
            while (generation == _generation && _enabled)
            {
                var left = deadline - Environment.TickCount64;
                if (left <= 0)
                {
                    Release();
                    return;
                }

                Monitor.Wait(_gate, (int)left);
            }
        }
    }

    /// <summary>Stops lining threads up and lets every held one go.</summary>
    public void Disable()
    {
        lock (_gate)
        {
            _enabled = false;
            Monitor.PulseAll(_gate);
        }
    }

    private void Release()
    {
        _arrived = 0;
        _generation++;
        Monitor.PulseAll(_gate);
    }
}
