namespace Testbed.Kernels;

/// <summary>
/// A point in a stream's timeline (a CUDA event, an OpenCL marker, a timestamp on the Cpu), for
/// timing launches and copies on the device's own clock.
/// </summary>
public abstract class AcceleratorEvent : IDisposable
{
    /// <summary>Waits until the event has completed.</summary>
    public abstract void Synchronize();

    /// <summary>The device time from <paramref name="start"/> to <paramref name="end"/>, both of one accelerator; waits for both.</summary>
    public static TimeSpan Elapsed(AcceleratorEvent start, AcceleratorEvent end)
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(end);
        if (start.GetType() != end.GetType())
        {
            throw new ArgumentException("AcceleratorEvent.Elapsed: the events belong to different backends.", nameof(end));
        }

        start.Synchronize();
        end.Synchronize();
        return end.ElapsedSince(start);
    }

    /// <summary>Releases the event.</summary>
    public virtual void Dispose()
    {
    }

    /// <summary>The device time from <paramref name="start"/> (an event of the same backend) to this one; both have completed.</summary>
    protected abstract TimeSpan ElapsedSince(AcceleratorEvent start);
}
