using System.Collections.Concurrent;
using System.Reflection;
using System.Text;
using Testbed.Kernels.Cuda.Native;

namespace Testbed.Kernels.Cuda;

/// <summary>
/// A CUDA device through the driver API and its primary context. Kernels run their generated CUDA C,
/// compiled once per kernel by NVRTC to PTX (<c>compute_70</c>, which every newer GPU can JIT) and
/// loaded with <c>cuModuleLoadData</c>; a compile failure throws with NVRTC's log.
/// <see cref="HostAtomicsCoherent"/> is the device's host-native-atomic-supported attribute.
/// </summary>
public sealed unsafe class CudaAccelerator : Accelerator
{
    private const int DefaultBlock = 256;
    private readonly ConcurrentDictionary<MethodInfo, (nint Module, nint Function)> _kernels = new();
    private readonly int _device;
    private readonly nint _context;
    private readonly CudaStream _defaultStream;

    internal CudaAccelerator(Device device, int ordinal)
        : base(device)
    {
        _device = ordinal;
        nint context;
        CudaError.Check(CudaApi.cuDevicePrimaryCtxRetain(&context, ordinal), "cuDevicePrimaryCtxRetain");
        _context = context;
        MakeCurrent();
        int coherent;
        CudaError.Check(CudaApi.cuDeviceGetAttribute(&coherent, CudaApi.AttributeHostNativeAtomicSupported, ordinal), "cuDeviceGetAttribute");
        HostAtomicsCoherent = coherent != 0;
        _defaultStream = new CudaStream(this);
    }

    /// <inheritdoc/>
    public override bool HostAtomicsCoherent { get; }

    /// <inheritdoc/>
    public override AcceleratorStream DefaultStream => _defaultStream;

    /// <inheritdoc/>
    public override AcceleratorStream CreateStream() => new CudaStream(this);

    /// <inheritdoc/>
    public override void Dispose()
    {
        MakeCurrent();
        foreach (var (module, _) in _kernels.Values)
        {
            CudaApi.cuModuleUnload(module);
        }

        _defaultStream.Dispose();
        CudaApi.cuDevicePrimaryCtxRelease_v2(_device);
    }

    /// <summary>Makes the primary context current on the calling thread.</summary>
    internal void MakeCurrent() => CudaError.Check(CudaApi.cuCtxSetCurrent(_context), "cuCtxSetCurrent");

    /// <inheritdoc/>
    protected override MemoryBuffer AllocateRaw(long bytes) => new CudaMemoryBuffer(this, bytes, null);

    /// <inheritdoc/>
    protected override MemoryBuffer MapHostRaw(byte* pointer, long bytes) => new CudaMemoryBuffer(this, bytes, pointer);

    /// <inheritdoc/>
    protected override void Prepare(MethodInfo kernel) => _kernels.GetOrAdd(kernel, Load);

    /// <inheritdoc/>
    internal override ulong? KernelBufferHandle(MemoryBuffer? buffer, long offset, int elementSize) =>
        buffer is CudaMemoryBuffer mem && mem.Accelerator == this ? mem.DevicePointer + ((ulong)offset * (ulong)elementSize) : null;

    /// <inheritdoc/>
    private protected override void Launch<TCall>(MethodInfo kernel, AcceleratorStream stream, int extent, int groupSize, in TCall call)
    {
        var cuda = (CudaStream)stream;
        var layout = new KernelArguments(stackalloc KernelArgument[KernelArguments.Capacity], kernel, this, extent, viewsCarryOffset: false);
        call.Marshal(ref layout);
        var arguments = layout.Written;
        var slots = stackalloc ulong[arguments.Length];
        var pointers = stackalloc void*[arguments.Length];
        for (var i = 0; i < arguments.Length; i++)
        {
            slots[i] = arguments[i].Bits;
            pointers[i] = &slots[i];
        }

        var block = (uint)(groupSize == 0 ? DefaultBlock : groupSize);
        var grid = (uint)((extent + block - 1) / block);
        MakeCurrent();
        CudaError.Check(CudaApi.cuLaunchKernel(_kernels[kernel].Function, grid, 1, 1, block, 1, 1, 0, cuda.Handle, pointers, null), "cuLaunchKernel");
    }

    private (nint, nint) Load(MethodInfo kernel)
    {
        var source = KernelRegistry.Find(kernel)
            ?? throw new InvalidOperationException($"{kernel.DeclaringType?.Name}.{kernel.Name} has no generated CUDA source: reference Testbed.Kernels.Generator as an analyzer in its project.");
        var compiled = Nvrtc.Compile(source.Cuda, source.EntryPoint);
        if (!compiled.Succeeded)
        {
            throw new CudaException($"NVRTC could not compile {source.EntryPoint}:\n{compiled.Log}");
        }

        MakeCurrent();
        nint module, function;
        var ptx = Encoding.ASCII.GetBytes(compiled.Ptx + "\0");
        fixed (byte* p = ptx)
        {
            CudaError.Check(CudaApi.cuModuleLoadData(&module, p), "cuModuleLoadData");
        }

        var name = Encoding.ASCII.GetBytes(source.EntryPoint + "\0");
        fixed (byte* n = name)
        {
            CudaError.Check(CudaApi.cuModuleGetFunction(&function, module, n), "cuModuleGetFunction");
        }

        return (module, function);
    }
}
