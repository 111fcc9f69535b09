using System.Runtime.InteropServices;

namespace Testbed.Kernels.Cuda.Native;

/// <summary>The CUDA driver API entry points the accelerator uses, from <c>libcuda.so.1</c>; blittable signatures only.</summary>
internal static unsafe partial class CudaApi
{
    public const string Library = "libcuda.so.1";

    /// <summary><c>CU_DEVICE_ATTRIBUTE_HOST_NATIVE_ATOMIC_SUPPORTED</c>.</summary>
    public const int AttributeHostNativeAtomicSupported = 86;

    /// <summary><c>CU_MEMHOSTREGISTER_DEVICEMAP</c>.</summary>
    public const uint HostRegisterDeviceMap = 0x02;

    [LibraryImport(Library)]
    public static partial int cuInit(uint flags);

    [LibraryImport(Library)]
    public static partial int cuDeviceGetCount(int* count);

    [LibraryImport(Library)]
    public static partial int cuDeviceGet(int* device, int ordinal);

    [LibraryImport(Library)]
    public static partial int cuDeviceGetName(byte* name, int length, int device);

    [LibraryImport(Library)]
    public static partial int cuDeviceGetAttribute(int* value, int attribute, int device);

    [LibraryImport(Library)]
    public static partial int cuDevicePrimaryCtxRetain(nint* context, int device);

    [LibraryImport(Library)]
    public static partial int cuDevicePrimaryCtxRelease_v2(int device);

    [LibraryImport(Library)]
    public static partial int cuCtxSetCurrent(nint context);

    [LibraryImport(Library)]
    public static partial int cuMemAlloc_v2(ulong* devicePointer, nuint bytes);

    [LibraryImport(Library)]
    public static partial int cuMemFree_v2(ulong devicePointer);

    [LibraryImport(Library)]
    public static partial int cuMemcpyHtoD_v2(ulong destination, void* source, nuint bytes);

    [LibraryImport(Library)]
    public static partial int cuMemcpyDtoH_v2(void* destination, ulong source, nuint bytes);

    [LibraryImport(Library)]
    public static partial int cuMemsetD8_v2(ulong destination, byte value, nuint count);

    [LibraryImport(Library)]
    public static partial int cuMemHostRegister_v2(void* pointer, nuint bytes, uint flags);

    [LibraryImport(Library)]
    public static partial int cuMemHostUnregister(void* pointer);

    [LibraryImport(Library)]
    public static partial int cuMemHostGetDevicePointer_v2(ulong* devicePointer, void* hostPointer, uint flags);

    [LibraryImport(Library)]
    public static partial int cuModuleLoadData(nint* module, void* image);

    [LibraryImport(Library)]
    public static partial int cuModuleUnload(nint module);

    [LibraryImport(Library)]
    public static partial int cuModuleGetFunction(nint* function, nint module, byte* name);

    [LibraryImport(Library)]
    public static partial int cuLaunchKernel(nint function, uint gridX, uint gridY, uint gridZ, uint blockX, uint blockY, uint blockZ, uint sharedBytes, nint stream, void** parameters, void** extra);

    [LibraryImport(Library)]
    public static partial int cuStreamCreate(nint* stream, uint flags);

    [LibraryImport(Library)]
    public static partial int cuStreamSynchronize(nint stream);

    [LibraryImport(Library)]
    public static partial int cuStreamDestroy_v2(nint stream);

    [LibraryImport(Library)]
    public static partial int cuMemcpyDtoDAsync_v2(ulong destination, ulong source, nuint bytes, nint stream);

    [LibraryImport(Library)]
    public static partial int cuEventCreate(nint* evt, uint flags);

    [LibraryImport(Library)]
    public static partial int cuEventRecord(nint evt, nint stream);

    [LibraryImport(Library)]
    public static partial int cuEventSynchronize(nint evt);

    [LibraryImport(Library)]
    public static partial int cuEventElapsedTime(float* milliseconds, nint start, nint end);

    [LibraryImport(Library)]
    public static partial int cuEventDestroy_v2(nint evt);

    [LibraryImport(Library)]
    public static partial int cuGetErrorName(int error, byte** name);
}
