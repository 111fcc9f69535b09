namespace Testbed.Kernels;

/// <summary>An ordered queue of launches and copies on one accelerator (ILGPU's <c>AcceleratorStream</c>).</summary>
public abstract class AcceleratorStream : IDisposable
{
    /// <summary>Creates a stream of <paramref name="accelerator"/>.</summary>
    protected AcceleratorStream(Accelerator accelerator) => Accelerator = accelerator;

    /// <summary>The accelerator the stream belongs to.</summary>
    public Accelerator Accelerator { get; }

    /// <summary>Waits until everything queued on the stream has finished.</summary>
    public abstract void Synchronize();

    /// <summary>Queues a timing event: it completes when the work queued before it has.</summary>
    public abstract AcceleratorEvent RecordEvent();

    /// <summary>Releases the stream.</summary>
    public abstract void Dispose();
}
