using System.Reflection;

namespace Testbed.Kernels;

/// <summary>
/// One device ready to run kernels (ILGPU's <c>Accelerator</c>). Allocation is in
/// <c>Accelerator.Allocations.cs</c>, kernel loading and launching in <c>Accelerator.Kernels.cs</c>;
/// each backend (<c>Cpu/</c>, <c>OpenCl/</c>, <c>Cuda/</c>) implements the abstract members.
/// </summary>
public abstract partial class Accelerator : IDisposable
{
    /// <summary>Creates the accelerator for <paramref name="device"/>.</summary>
    protected Accelerator(Device device) => Device = device;

    /// <summary>The device.</summary>
    public Device Device { get; }

    /// <summary>The backend.</summary>
    public AcceleratorType AcceleratorType => Device.AcceleratorType;

    /// <summary>The device's name.</summary>
    public string Name => Device.Name;

    /// <summary>
    /// Whether a device atomic on host memory is atomic with respect to the CPU (CUDA's
    /// host-native-atomic-supported attribute). False on a PCIe-like link: device atomics on host
    /// pages are then plain read-modify-writes and need exclusive access to be safe.
    /// </summary>
    public abstract bool HostAtomicsCoherent { get; }

    /// <summary>The stream launches and copies use unless given another.</summary>
    public abstract AcceleratorStream DefaultStream { get; }

    /// <summary>Creates another stream.</summary>
    public abstract AcceleratorStream CreateStream();

    /// <summary>Waits for everything queued on the default stream.</summary>
    public void Synchronize() => DefaultStream.Synchronize();

    /// <summary>Releases the device.</summary>
    public abstract void Dispose();

    /// <summary>
    /// Runs <paramref name="kernel"/> over <c>[0, extent)</c> in groups of <paramref name="groupSize"/>
    /// (0: the backend chooses). The Cpu backend calls <paramref name="call"/>'s
    /// <see cref="IKernelCall.Invoke"/> per work item; device backends launch the generated code with
    /// the arguments <see cref="IKernelCall.Marshal"/> lays out. The extent is positive and the stream
    /// belongs to this accelerator (checked before).
    /// </summary>
    private protected abstract void Launch<TCall>(MethodInfo kernel, AcceleratorStream stream, int extent, int groupSize, in TCall call)
        where TCall : struct, IKernelCall;

    /// <summary>
    /// How a view of <paramref name="buffer"/> starting at element <paramref name="offset"/> (of
    /// <paramref name="elementSize"/> bytes) is named in a kernel argument on this device backend; null
    /// when the buffer is not this accelerator's, or the backend passes no handles (the Cpu one).
    /// </summary>
    internal virtual ulong? KernelBufferHandle(MemoryBuffer? buffer, long offset, int elementSize) => null;
}
