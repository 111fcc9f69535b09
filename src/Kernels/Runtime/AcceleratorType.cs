namespace Testbed.Kernels;

/// <summary>The backends.</summary>
public enum AcceleratorType
{
    /// <summary>The managed, multi-threaded CPU accelerator; always available.</summary>
    Cpu,

    /// <summary>OpenCL through <c>libOpenCL.so.1</c> (PoCL on the CPU in CI, any OpenCL GPU elsewhere).</summary>
    OpenCl,

    /// <summary>CUDA through the driver API (<c>libcuda.so.1</c>) and NVRTC.</summary>
    Cuda,
}
