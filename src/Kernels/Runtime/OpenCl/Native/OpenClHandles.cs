using System.Runtime.InteropServices;

namespace Testbed.Kernels.OpenCl.Native;

/// <summary>An OpenCL object released by the matching <c>clRelease*</c> when the handle is disposed or finalized.</summary>
internal abstract class OpenClHandle : SafeHandle
{
    protected OpenClHandle(nint handle, string call, int error)
        : base(0, ownsHandle: true)
    {
        OpenClError.Check(error, call);
        SetHandle(handle);
    }

    public override bool IsInvalid => handle == 0;

    public nint Value => handle;
}

internal sealed class ClContext(nint handle, int error) : OpenClHandle(handle, "clCreateContext", error)
{
    protected override bool ReleaseHandle() => OpenClApi.clReleaseContext(handle) == 0;
}

internal sealed class ClQueue(nint handle, int error) : OpenClHandle(handle, "clCreateCommandQueueWithProperties", error)
{
    protected override bool ReleaseHandle() => OpenClApi.clReleaseCommandQueue(handle) == 0;
}

internal sealed class ClMem(nint handle, int error) : OpenClHandle(handle, "clCreateBuffer", error)
{
    protected override bool ReleaseHandle() => OpenClApi.clReleaseMemObject(handle) == 0;
}

internal sealed class ClProgram(nint handle, int error) : OpenClHandle(handle, "clCreateProgramWithSource", error)
{
    protected override bool ReleaseHandle() => OpenClApi.clReleaseProgram(handle) == 0;
}

internal sealed class ClKernel(nint handle, int error) : OpenClHandle(handle, "clCreateKernel", error)
{
    protected override bool ReleaseHandle() => OpenClApi.clReleaseKernel(handle) == 0;
}

internal sealed class ClEvent(nint handle, int error) : OpenClHandle(handle, "clEnqueueMarkerWithWaitList", error)
{
    protected override bool ReleaseHandle() => OpenClApi.clReleaseEvent(handle) == 0;
}
