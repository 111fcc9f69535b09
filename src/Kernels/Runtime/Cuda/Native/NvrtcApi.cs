using System.Runtime.InteropServices;

namespace Testbed.Kernels.Cuda.Native;

/// <summary>The NVRTC entry points (blittable signatures); the library is found by <see cref="NvrtcLibrary"/>.</summary>
internal static unsafe partial class NvrtcApi
{
    public const string Library = "nvrtc";

    static NvrtcApi() => NvrtcLibrary.InstallResolver();

    [LibraryImport(Library)]
    public static partial int nvrtcVersion(int* major, int* minor);

    [LibraryImport(Library)]
    public static partial int nvrtcCreateProgram(nint* program, byte* source, byte* name, int numHeaders, byte** headers, byte** includeNames);

    [LibraryImport(Library)]
    public static partial int nvrtcCompileProgram(nint program, int numOptions, byte** options);

    [LibraryImport(Library)]
    public static partial int nvrtcGetPTXSize(nint program, nuint* size);

    [LibraryImport(Library)]
    public static partial int nvrtcGetPTX(nint program, byte* ptx);

    [LibraryImport(Library)]
    public static partial int nvrtcGetProgramLogSize(nint program, nuint* size);

    [LibraryImport(Library)]
    public static partial int nvrtcGetProgramLog(nint program, byte* log);

    [LibraryImport(Library)]
    public static partial int nvrtcDestroyProgram(nint* program);

    [LibraryImport(Library)]
    public static partial byte* nvrtcGetErrorString(int result);
}
