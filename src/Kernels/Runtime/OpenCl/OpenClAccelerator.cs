using System.Collections.Concurrent;
using System.Reflection;
using System.Text;
using Testbed.Kernels.OpenCl.Native;

namespace Testbed.Kernels.OpenCl;

/// <summary>
/// An OpenCL device (PoCL on the CPU in CI, an OpenCL GPU elsewhere): kernels run their generated
/// OpenCL C, built once per kernel with <c>-cl-std=CL3.0</c>; a build failure throws with the build
/// log. Launches are queued on the stream (in order) and complete at <c>Synchronize</c>. A sub-view is
/// passed as its buffer and its element offset, which the generated kernel adds.
/// </summary>
public sealed unsafe class OpenClAccelerator : Accelerator, INonCoherentLinkEmulation
{
    private readonly ConcurrentDictionary<MethodInfo, (ClProgram Program, ClKernel Kernel, Lock Lock)> _kernels = new();

    /// <summary>The 1024 lock words the non-coherent atomic helpers serialise the device's own atomics with.</summary>
    private readonly Lazy<OpenClMemoryBuffer> _linkLocks;
    private readonly OpenClStream _defaultStream;

    internal OpenClAccelerator(Device device, nint deviceId)
        : base(device)
    {
        DeviceId = deviceId;
        int error;
        var id = deviceId;
        Context = new ClContext(OpenClApi.clCreateContext(null, 1, &id, 0, 0, &error), error);
        _defaultStream = new OpenClStream(this);
        _linkLocks = new(() => new OpenClMemoryBuffer(this, 1024 * sizeof(int), null));
    }

    /// <inheritdoc/>
    /// <remarks>
    /// The generated atomics check their target against the span of this accelerator's host mappings,
    /// passed as hidden arguments. Meaningful where mapped buffers keep their host addresses, as on PoCL.
    /// </remarks>
    public bool NonCoherentHostAtomics { get; set; }

    /// <inheritdoc/>
    /// <remarks>Loop iterations of the generated code.</remarks>
    public int NonCoherentLinkDelaySpins { get; set; } = 100;

    /// <inheritdoc/>
    public override bool HostAtomicsCoherent => !NonCoherentHostAtomics;

    /// <inheritdoc/>
    public override AcceleratorStream DefaultStream => _defaultStream;

    internal nint DeviceId { get; }

    internal ClContext Context { get; }

    /// <inheritdoc/>
    public override AcceleratorStream CreateStream() => new OpenClStream(this);

    /// <inheritdoc/>
    public override void Dispose()
    {
        if (_linkLocks.IsValueCreated)
        {
            _linkLocks.Value.Dispose();
        }

        foreach (var (program, kernel, _) in _kernels.Values)
        {
            kernel.Dispose();
            program.Dispose();
        }

        _defaultStream.Dispose();
        Context.Dispose();
    }

    /// <inheritdoc/>
    protected override MemoryBuffer AllocateRaw(long bytes) => new OpenClMemoryBuffer(this, bytes, null);

    /// <inheritdoc/>
    protected override MemoryBuffer MapHostRaw(byte* pointer, long bytes) => new OpenClMemoryBuffer(this, bytes, pointer);

    /// <summary>The host-mapped range atomics treat as across the emulated link, or an empty one.</summary>
    private (ulong Lo, ulong Hi) NonCoherentRange()
    {
        if (!NonCoherentHostAtomics || HostMappedRanges() is not { Length: > 0 } ranges)
        {
            return (0, 0);
        }

        var (lo, hi) = (ulong.MaxValue, 0UL);
        foreach (var (start, end) in ranges)
        {
            (lo, hi) = (Math.Min(lo, start), Math.Max(hi, end));
        }

        return (lo, hi);
    }

    /// <inheritdoc/>
    internal override ulong? KernelBufferHandle(MemoryBuffer? buffer, long offset, int elementSize) =>
        buffer is OpenClMemoryBuffer mem && mem.Accelerator == this ? (ulong)mem.Mem.Value : null;

    /// <inheritdoc/>
    protected override void Prepare(MethodInfo kernel) => _kernels.GetOrAdd(kernel, Build);

    /// <inheritdoc/>
    private protected override void Launch<TCall>(MethodInfo kernel, AcceleratorStream stream, int extent, int groupSize, in TCall call)
    {
        var queue = (OpenClStream)stream;
        var range = NonCoherentRange();
        var layout = new KernelArguments(stackalloc KernelArgument[KernelArguments.Capacity], kernel, this, extent, viewsCarryOffset: true);
        layout.Add(KernelArguments.Of(range.Lo));
        layout.Add(KernelArguments.Of(range.Hi));
        layout.Add(KernelArguments.Of(NonCoherentLinkDelaySpins));
        layout.Add(KernelArguments.Of((ulong)_linkLocks.Value.Mem.Value));
        call.Marshal(ref layout);
        var arguments = layout.Written;
        var (_, k, gate) = _kernels[kernel];
        lock (gate)
        {
            for (var i = 0; i < arguments.Length; i++)
            {
                var bits = arguments[i].Bits;
                OpenClError.Check(OpenClApi.clSetKernelArg(k.Value, (uint)i, (nuint)arguments[i].Size, &bits), "clSetKernelArg");
            }

            var local = (nuint)groupSize;
            var global = groupSize == 0 ? (nuint)extent : (nuint)((extent + groupSize - 1) / groupSize * groupSize);
            OpenClError.Check(OpenClApi.clEnqueueNDRangeKernel(queue.Queue.Value, k.Value, 1, null, &global, groupSize == 0 ? null : &local, 0, null, null), "clEnqueueNDRangeKernel");
        }
    }

    private (ClProgram, ClKernel, Lock) Build(MethodInfo kernel)
    {
        var source = KernelRegistry.Find(kernel)
            ?? throw new InvalidOperationException($"{kernel.DeclaringType?.Name}.{kernel.Name} has no generated OpenCL source: reference Testbed.Kernels.Generator as an analyzer in its project.");
        var text = Encoding.UTF8.GetBytes(source.OpenCl);
        int error;
        ClProgram program;
        fixed (byte* t = text)
        {
            var strings = t;
            var length = (nuint)text.Length;
            program = new ClProgram(OpenClApi.clCreateProgramWithSource(Context.Value, 1, &strings, &length, &error), error);
        }

        var options = Encoding.ASCII.GetBytes("-cl-std=CL3.0\0");
        var device = DeviceId;
        int status;
        fixed (byte* o = options)
        {
            status = OpenClApi.clBuildProgram(program.Value, 1, &device, o, 0, 0);
        }

        if (status != 0)
        {
            var log = BuildLog(program);
            program.Dispose();
            throw new OpenClException($"clBuildProgram({source.EntryPoint})", status, log);
        }

        var name = Encoding.ASCII.GetBytes(source.EntryPoint + "\0");
        fixed (byte* n = name)
        {
            return (program, new ClKernel(OpenClApi.clCreateKernel(program.Value, n, &error), error), new Lock());
        }
    }

    private string BuildLog(ClProgram program)
    {
        nuint size;
        if (OpenClApi.clGetProgramBuildInfo(program.Value, DeviceId, OpenClApi.ProgramBuildLog, 0, null, &size) != 0)
        {
            return string.Empty;
        }

        var log = new byte[(int)size];
        fixed (byte* l = log)
        {
            OpenClApi.clGetProgramBuildInfo(program.Value, DeviceId, OpenClApi.ProgramBuildLog, size, l, null);
        }

        return Encoding.UTF8.GetString(log).TrimEnd('\0');
    }
}
