using Testbed.Kernels.Cuda.Native;

namespace Testbed.Kernels.Cuda;

/// <summary>A CUDA driver call failed: the message names the call and the CUDA error (or carries NVRTC's log).</summary>
public sealed class CudaException : Exception
{
    internal CudaException(string call, int status)
        : base($"{call} failed: {CudaError.Name(status)}") => Status = status;

    internal CudaException(string message)
        : base(message)
    {
    }

    /// <summary>The CUresult, or 0 for a compile failure.</summary>
    public int Status { get; }
}
