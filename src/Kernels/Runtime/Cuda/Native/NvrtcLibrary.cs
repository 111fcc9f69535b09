using System.Reflection;
using System.Runtime.InteropServices;

namespace Testbed.Kernels.Cuda.Native;

/// <summary>
/// Finds NVRTC: <c>libnvrtc.so.13</c>, <c>.12</c> or <c>.11.2</c> in <c>TESTBED_NVRTC_DIR</c>,
/// <c>$CUDA_HOME/lib64</c>, <c>/usr/local/cuda/lib64</c>, then the system's search path, preloading
/// the <c>libnvrtc-builtins</c> library that sits beside it (NVRTC dlopens it by soname, which a
/// directory outside the loader's path would not satisfy).
/// </summary>
internal static class NvrtcLibrary
{
    private static readonly string[] Names = ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"];
    private static readonly Lazy<(nint Handle, string Where)> Loaded = new(Load);
    private static int s_installed;

    /// <summary>Where NVRTC was loaded from, or null with <paramref name="reason"/> saying what was searched.</summary>
    public static string? Locate(out string? reason)
    {
        var (handle, where) = Loaded.Value;
        reason = handle == 0 ? where : null;
        return handle == 0 ? null : where;
    }

    public static void InstallResolver()
    {
        if (Interlocked.Exchange(ref s_installed, 1) == 0)
        {
            NativeLibrary.SetDllImportResolver(typeof(NvrtcLibrary).Assembly, Resolve);
        }
    }

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? path) =>
        name == NvrtcApi.Library ? Loaded.Value.Handle : 0;

    private static (nint, string) Load()
    {
        var dirs = new[]
        {
            Environment.GetEnvironmentVariable("TESTBED_NVRTC_DIR"),
            Environment.GetEnvironmentVariable("CUDA_HOME") is { } home ? Path.Combine(home, "lib64") : null,
            "/usr/local/cuda/lib64",
        }.Where(d => !string.IsNullOrEmpty(d) && Directory.Exists(d)).Cast<string>().ToArray();
        foreach (var dir in dirs)
        {
            foreach (var name in Names)
            {
                var file = Path.Combine(dir, name);
                if (File.Exists(file))
                {
                    foreach (var builtins in Directory.GetFiles(dir, "libnvrtc-builtins.so*").OrderByDescending(f => f.Length))
                    {
                        NativeLibrary.TryLoad(builtins, out _);
                    }

                    if (NativeLibrary.TryLoad(file, out var handle))
                    {
                        return (handle, file);
                    }
                }
            }
        }

        foreach (var name in Names)
        {
            if (NativeLibrary.TryLoad(name, out var handle))
            {
                return (handle, name);
            }
        }

        return (0, $"libnvrtc.so.13/.12/.11.2 not found in TESTBED_NVRTC_DIR, CUDA_HOME/lib64, /usr/local/cuda/lib64 or the system path (searched: {string.Join(", ", dirs.DefaultIfEmpty("no directory"))})");
    }
}
