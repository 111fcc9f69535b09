using System.Runtime.InteropServices;
using System.Text;
using Testbed.Kernels.Cuda.Native;

namespace Testbed.Kernels.Cuda;

/// <summary>The result of compiling CUDA C with NVRTC: PTX on success, the compiler's log either way.</summary>
public sealed record NvrtcResult(bool Succeeded, string Ptx, string Log);

/// <summary>
/// NVRTC, the runtime CUDA compiler: turns a kernel's generated CUDA C into PTX. It needs no GPU, so
/// CI compiles every generated kernel with it (Debian's <c>libnvrtc11.2</c>) even where the Cuda
/// accelerator cannot run.
/// </summary>
public static unsafe class Nvrtc
{
    /// <summary>Whether NVRTC can be loaded; <paramref name="reason"/> says what was searched when not.</summary>
    public static bool IsAvailable(out string? reason) => NvrtcLibrary.Locate(out reason) is not null;

    /// <summary>The loaded library's version, e.g. 11.8.</summary>
    public static Version Version
    {
        get
        {
            int major, minor;
            Check(NvrtcApi.nvrtcVersion(&major, &minor), "nvrtcVersion");
            return new Version(major, minor);
        }
    }

    /// <summary>Compiles <paramref name="source"/> for <paramref name="architecture"/> (a virtual one such as <c>compute_70</c>).</summary>
    public static NvrtcResult Compile(string source, string name, string architecture = "compute_70")
    {
        ArgumentNullException.ThrowIfNull(source);
        nint program;
        var src = Encoding.UTF8.GetBytes(source + "\0");
        var file = Encoding.UTF8.GetBytes(name + ".cu\0");
        fixed (byte* s = src)
        fixed (byte* f = file)
        {
            Check(NvrtcApi.nvrtcCreateProgram(&program, s, f, 0, null, null), "nvrtcCreateProgram");
        }

        try
        {
            var option = Encoding.ASCII.GetBytes($"--gpu-architecture={architecture}\0");
            int status;
            fixed (byte* o = option)
            {
                var options = o;
                status = NvrtcApi.nvrtcCompileProgram(program, 1, &options);
            }

            nuint logSize;
            Check(NvrtcApi.nvrtcGetProgramLogSize(program, &logSize), "nvrtcGetProgramLogSize");
            var log = new byte[(int)logSize];
            fixed (byte* l = log)
            {
                Check(NvrtcApi.nvrtcGetProgramLog(program, l), "nvrtcGetProgramLog");
            }

            var logText = Encoding.UTF8.GetString(log).TrimEnd('\0');
            if (status != 0)
            {
                return new NvrtcResult(false, string.Empty, $"{ErrorName(status)}\n{logText}");
            }

            nuint ptxSize;
            Check(NvrtcApi.nvrtcGetPTXSize(program, &ptxSize), "nvrtcGetPTXSize");
            var ptx = new byte[(int)ptxSize];
            fixed (byte* p = ptx)
            {
                Check(NvrtcApi.nvrtcGetPTX(program, p), "nvrtcGetPTX");
            }

            return new NvrtcResult(true, Encoding.ASCII.GetString(ptx).TrimEnd('\0'), logText);
        }
        finally
        {
            NvrtcApi.nvrtcDestroyProgram(&program);
        }
    }

    private static string ErrorName(int status) => Marshal.PtrToStringAnsi((nint)NvrtcApi.nvrtcGetErrorString(status)) ?? $"NVRTC error {status}";

    private static void Check(int status, string call)
    {
        if (status != 0)
        {
            throw new InvalidOperationException($"{call} failed: {ErrorName(status)}");
        }
    }
}
