using ILGPU;
using ILGPU.Runtime;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Kernels.Runners;

/// <summary>
/// One accelerator, ready to run the testbed's ILGPU kernels: the direct cpu runner
/// (<see cref="CpuRunner"/>) or one of ILGPU's own accelerators (<see cref="IlgpuRunner"/>: ilgpu-cpu,
/// cuda, opencl). Either way the kernels are the same ILGPU kernel methods (<c>Index1D</c> first,
/// <c>ArrayView</c>s next), the memory is ILGPU's (<see cref="Accelerator"/> owns every buffer), and a
/// loaded kernel is launched like one from ILGPU's <c>LoadAutoGroupedStreamKernel</c>: on the default
/// stream, complete after <see cref="Synchronize"/>. Memory is in <c>KernelRunner.Memory.cs</c>, the
/// loaders in <c>KernelRunner.Loaders.cs</c>.
/// </summary>
/// <remarks>
/// <para>The link between the device and system memory is part of the runner: whether the device's
/// atomics on host memory are atomic with respect to the CPU (<see cref="HostAtomicsCoherent"/>),
/// and, when asked, an emulated non-coherent link (<see cref="EmulateNonCoherentLink"/>) that the
/// device-access code (<see cref="DeviceMirror"/>) honours in kernel code, so it behaves the same on
/// every accelerator.</para>
/// <para>ILGPU's view indexers check their index with <c>Trace.Assert</c>, which ends the process by
/// default; every runner installs <see cref="ViewAssertions"/> first, which turns a failed check into a
/// <see cref="KernelAssertionException"/>.</para>
/// </remarks>
public abstract partial class KernelRunner : IDisposable
{
    private MemoryBuffer1D<int, Stride1D.Dense>? _linkLocks;
    private bool _disposed;

    /// <summary>Sets up a runner of <paramref name="kind"/> whose memory <paramref name="accelerator"/> owns.</summary>
    private protected KernelRunner(AcceleratorKind kind, string name, Accelerator accelerator)
    {
        ViewAssertions.Install();
        Kind = kind;
        Name = name;
        Accelerator = accelerator;
    }

    /// <summary>The kind of accelerator.</summary>
    public AcceleratorKind Kind { get; }

    /// <summary>The device's name.</summary>
    public string Name { get; }

    /// <summary>
    /// ILGPU's accelerator that owns the runner's memory. For the direct cpu runner it is the implicit
    /// CPU accelerator of a device-less ILGPU context, which holds memory and never runs a kernel.
    /// </summary>
    public Accelerator Accelerator { get; }

    /// <summary>
    /// Whether a device atomic on host memory is atomic with respect to the CPU (CUDA's
    /// host-native-atomic-supported attribute; true on the CPU accelerators). False on a PCIe-like
    /// link, or while <see cref="EmulateNonCoherentLink"/> is on: device atomics on host pages then
    /// need exclusive access to be safe.
    /// </summary>
    public bool HostAtomicsCoherent => !Link.IsEmulated && NativeHostAtomicsCoherent;

    /// <summary>The emulated non-coherent link that device-access code honours (none unless <see cref="EmulateNonCoherentLink"/> was called).</summary>
    public LinkEmulation Link { get; private set; }

    /// <summary>
    /// Whether ILGPU.Algorithms can run here. They need explicit groups, which the direct cpu runner
    /// does not have: there the host does the same work.
    /// </summary>
    public virtual bool RunsAlgorithms => true;

    /// <summary>The link the hardware has, before any emulation.</summary>
    private protected abstract bool NativeHostAtomicsCoherent { get; }

    /// <summary>
    /// Emulates a link without host-native atomics (PCIe, unlike NVLink-C2C or CXL): device atomics that
    /// <see cref="DeviceMirror"/> performs on system memory become plain read-modify-writes with
    /// <paramref name="delaySteps"/> steps of delay between the read and the write, serialised among this
    /// device's threads by lock words in its memory, so only a CPU update in between is lost, as across
    /// PCIe. 0 turns the emulation off. Set it before launching kernels that use the link.
    /// </summary>
    public void EmulateNonCoherentLink(int delaySteps)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(delaySteps);
        ObjectDisposedException.ThrowIf(_disposed, this);
        _linkLocks ??= Allocate1D<int>(LinkEmulation.LockWords);
        Link = delaySteps == 0 ? default : new LinkEmulation(_linkLocks.View, delaySteps);
    }

    /// <summary>Waits until every launch and copy queued on the default stream completed.</summary>
    public virtual void Synchronize() => Accelerator.Synchronize();

    /// <summary>Releases the runner's threads or ILGPU accelerator, and the memory it allocated for itself.</summary>
    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _linkLocks?.Dispose();
            DisposeRunner();
            GC.SuppressFinalize(this);
        }
    }

    /// <summary>Releases what the concrete runner owns.</summary>
    private protected abstract void DisposeRunner();

    /// <inheritdoc/>
    public override string ToString() => $"{Kind.Name()}: {Name}";
}
