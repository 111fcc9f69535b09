using System.Reflection;

namespace Testbed.Kernels.Cpu;

/// <summary>
/// The managed, multi-threaded accelerator: it runs the C# kernel method itself, groups spread over
/// its own threads (<see cref="CpuWorkers"/>), each group's work items in order on one thread. Launches and copies complete
/// before they return (a stream has nothing left to wait for). Always available, and the one CI
/// runs everything on.
/// </summary>
public sealed unsafe class CpuAccelerator : Accelerator, INonCoherentLinkEmulation
{
    private const int DefaultGroupSize = 64;

    private CpuWorkers? _workers;

    internal CpuAccelerator(Device device)
        : base(device) => DefaultStream = new CpuStream(this);

    /// <inheritdoc/>
    /// <remarks>On the Cpu the atomics themselves check the target (see <c>Cpu/NonCoherent.cs</c>).</remarks>
    public bool NonCoherentHostAtomics { get; set; }

    /// <inheritdoc/>
    /// <remarks><see cref="Thread.SpinWait"/> iterations.</remarks>
    public int NonCoherentLinkDelaySpins { get; set; } = 100;

    /// <summary>Worker threads a launch uses (at least 2, so kernels race even on one core).</summary>
    public int Parallelism { get; init; } = Math.Max(2, Environment.ProcessorCount);

    /// <inheritdoc/>
    public override bool HostAtomicsCoherent => !NonCoherentHostAtomics;

    /// <inheritdoc/>
    public override AcceleratorStream DefaultStream { get; }

    /// <inheritdoc/>
    public override AcceleratorStream CreateStream() => new CpuStream(this);

    /// <inheritdoc/>
    public override void Dispose() => _workers?.Dispose();

    /// <summary>The accelerator's threads, made on first use (after <see cref="Parallelism"/> is set).</summary>
    private CpuWorkers Workers
    {
        get
        {
            if (_workers is null)
            {
                var workers = new CpuWorkers(Parallelism);
                if (Interlocked.CompareExchange(ref _workers, workers, null) is not null)
                {
                    workers.Dispose();
                }
            }

            return _workers;
        }
    }

    /// <inheritdoc/>
    protected override MemoryBuffer AllocateRaw(long bytes) => new CpuMemoryBuffer(this, bytes);

    /// <inheritdoc/>
    protected override MemoryBuffer MapHostRaw(byte* pointer, long bytes) => new CpuMemoryBuffer(this, pointer, bytes);

    /// <inheritdoc/>
    protected override void Prepare(MethodInfo kernel)
    {
    }

    /// <inheritdoc/>
    private protected override void Launch<TCall>(MethodInfo kernel, AcceleratorStream stream, int extent, int groupSize, in TCall call)
    {
        var launch = CpuLaunch<TCall>.Begin(call, extent, groupSize == 0 ? DefaultGroupSize : groupSize, NonCoherentHostAtomics ? HostMappedRanges() : null, NonCoherentLinkDelaySpins);
        try
        {
            Workers.Run(launch.Groups, launch.RunGroup);
        }
        finally
        {
            launch.End();
        }
    }
}
