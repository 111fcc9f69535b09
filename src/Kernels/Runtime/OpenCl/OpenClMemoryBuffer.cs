using Testbed.Kernels.OpenCl.Native;

namespace Testbed.Kernels.OpenCl;

/// <summary>
/// A <c>cl_mem</c>: device memory (zeroed at allocation), or an existing host range used in place
/// (<c>CL_MEM_USE_HOST_PTR</c>), whose host pointer kernels' views then also reach from the host.
/// Copies are blocking on the default queue.
/// </summary>
internal sealed unsafe class OpenClMemoryBuffer : MemoryBuffer
{
    private readonly byte* _host;

    public OpenClMemoryBuffer(OpenClAccelerator accelerator, long bytes, byte* host)
        : base(accelerator, bytes, hostMapped: host != null)
    {
        _host = host;
        int error;
        Mem = new ClMem(OpenClApi.clCreateBuffer(accelerator.Context.Value, OpenClApi.MemReadWrite | (host != null ? OpenClApi.MemUseHostPtr : 0), (nuint)Math.Max(bytes, 1), host, &error), error);
        if (host == null)
        {
            Clear();
        }
    }

    public ClMem Mem { get; }

    internal override byte* HostPointer => _host;

    private nint Queue => ((OpenClStream)Accelerator.DefaultStream).Queue.Value;

    internal override void CopyFromHost(byte* source, long offset, long bytes)
    {
        if (bytes > 0)
        {
            OpenClError.Check(OpenClApi.clEnqueueWriteBuffer(Queue, Mem.Value, 1, (nuint)offset, (nuint)bytes, source, 0, null, null), "clEnqueueWriteBuffer");
        }
    }

    internal override void CopyToHost(byte* destination, long offset, long bytes)
    {
        if (bytes > 0)
        {
            OpenClError.Check(OpenClApi.clEnqueueReadBuffer(Queue, Mem.Value, 1, (nuint)offset, (nuint)bytes, destination, 0, null, null), "clEnqueueReadBuffer");
        }
    }

    internal override void CopyFrom(MemoryBuffer source, long bytes, AcceleratorStream stream)
    {
        if (bytes > 0)
        {
            var queue = ((OpenClStream)stream).Queue.Value;
            OpenClError.Check(OpenClApi.clEnqueueCopyBuffer(queue, ((OpenClMemoryBuffer)source).Mem.Value, Mem.Value, 0, 0, (nuint)bytes, 0, null, null), "clEnqueueCopyBuffer");
        }
    }

    internal override void Clear()
    {
        if (LengthInBytes == 0)
        {
            return;
        }

        byte zero = 0;
        OpenClError.Check(OpenClApi.clEnqueueFillBuffer(Queue, Mem.Value, &zero, 1, 0, (nuint)LengthInBytes, 0, null, null), "clEnqueueFillBuffer");
        OpenClError.Check(OpenClApi.clFinish(Queue), "clFinish");
    }

    protected override void DisposeNative() => Mem.Dispose();
}
