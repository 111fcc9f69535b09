using System.Runtime.InteropServices;

namespace Testbed.Kernels.Cuda.Native;

/// <summary>CUDA driver status codes by name, and the check every call goes through.</summary>
internal static unsafe class CudaError
{
    /// <summary><c>cuGetErrorName</c>, e.g. <c>CUDA_ERROR_NO_DEVICE</c> for 100.</summary>
    public static string Name(int status)
    {
        byte* name;
        return CudaApi.cuGetErrorName(status, &name) == 0 && name != null ? Marshal.PtrToStringAnsi((nint)name)! : $"CUDA error {status}";
    }

    public static void Check(int status, string call)
    {
        if (status != 0)
        {
            throw new CudaException(call, status);
        }
    }
}
