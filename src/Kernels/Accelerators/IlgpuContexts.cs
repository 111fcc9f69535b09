using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace Testbed.Kernels.Accelerators;

/// <summary>
/// The ILGPU contexts of the process, made on first use and kept for its lifetime: one without
/// devices (the direct cpu runner's memory and the kernel compilers), one per ILGPU CPU device shape,
/// and one for the GPUs, so that a run on <c>cpu</c> never probes CUDA or OpenCL. Every context
/// enables ILGPU.Algorithms.
/// </summary>
/// <remarks>
/// ILGPU imports <c>libOpenCL.so</c> and <c>libcuda.so</c>, which only development packages install;
/// drivers and ICD loaders install <c>libOpenCL.so.1</c> and <c>libcuda.so.1</c>. The resolver
/// installed here loads those names when the plain ones are missing.
/// </remarks>
public static class IlgpuContexts
{
    private static readonly Lazy<Context> s_host = new(() => Create(b => b.EnableAlgorithms()));
    private static readonly Lazy<Context> s_gpus = new(() => SignalGuard.Run(() => Create(b => b.Cuda(_ => true).OpenCL(_ => true).EnableAlgorithms())));
    private static readonly ConcurrentDictionary<CPUDevice, Lazy<Context>> s_cpus = new();
    private static int s_resolverInstalled;

    /// <summary>A context with no device of its own: its implicit CPU accelerator holds the direct runner's memory, and the compilers use it.</summary>
    public static Context Host => s_host.Value;

    /// <summary>
    /// The context holding every CUDA and OpenCL device ILGPU finds, including the ones it would refuse
    /// (to say why). Made inside <see cref="SignalGuard"/>: probing loads the drivers.
    /// </summary>
    public static Context Gpus => s_gpus.Value;

    /// <summary>A context whose only device is the ILGPU CPU device <paramref name="device"/>.</summary>
    public static Context Cpu(CPUDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return s_cpus.GetOrAdd(device, d => new Lazy<Context>(() => Create(b => b.CPU(d).EnableAlgorithms()))).Value;
    }

    /// <summary>Resolves ILGPU's native libraries under the names drivers install (once per process).</summary>
    public static void InstallNativeResolver()
    {
        if (Interlocked.Exchange(ref s_resolverInstalled, 1) != 0)
        {
            return;
        }

        try
        {
            NativeLibrary.SetDllImportResolver(typeof(Context).Assembly, (name, assembly, path) =>
                name switch
                {
                    "OpenCL" => Load("libOpenCL.so", "libOpenCL.so.1"),
                    "cuda" => Load("libcuda.so", "libcuda.so.1"),
                    _ => IntPtr.Zero,
                });
        }
        catch (InvalidOperationException)
        {
            // ILGPU installed its own (it does on WSL, where it finds the driver itself).
        }
    }

    private static IntPtr Load(params string[] names)
    {
        foreach (var name in names)
        {
            if (NativeLibrary.TryLoad(name, out var handle))
            {
                return handle;
            }
        }

        return IntPtr.Zero;
    }

    private static Context Create(Action<Context.Builder> configure)
    {
        InstallNativeResolver();
        return Context.Create(configure);
    }
}
