using System.Reflection;
using ILGPU;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.OpenCL;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Kernels.Compilation;

/// <summary>
/// ILGPU's compilers run without a device: PTX from ILGPU's <see cref="PTXBackend"/> (what the CUDA
/// driver would load) and OpenCL C from its <see cref="CLBackend"/> (what an OpenCL driver would build),
/// for <c>testbed kernels</c> and for CI, which assembles the PTX with <c>ptxas</c> and compiles the
/// OpenCL C with clang, so a kernel a GPU would refuse fails CI. PTX declares ISA 7.8, the newest
/// Debian's CUDA 11.8 <c>ptxas</c> accepts. ILGPU writes the lowest <c>.target</c> the kernel's
/// features need, also when asked for a newer architecture (SM_90 gets <c>sm_80</c> PTX, which the driver
/// compiles up); CI assembles it for each architecture asked.
/// </summary>
public static class KernelCompiler
{
    /// <summary>The PTX ISA the compiled kernels declare.</summary>
    public static CudaInstructionSet PtxIsa => CudaInstructionSet.ISA_78;

    /// <summary>The OpenCL C version the compiled kernels are written in (ILGPU's minimum: 2.0, with the generic address space).</summary>
    public static CLCVersion OpenClVersion => CLCVersion.CL20;

    private static readonly Lock s_lock = new();

    /// <summary>The PTX ILGPU generates for <paramref name="kernel"/> on <paramref name="architecture"/>.</summary>
    public static string Ptx(MethodInfo kernel, CudaArchitecture architecture)
    {
        var context = IlgpuContexts.Host;
        return Compile(context, kernel, () => new PTXBackend(context, architecture, PtxIsa, null!), k => ((PTXCompiledKernel)k).PTXAssembly);
    }

    /// <summary>The OpenCL C ILGPU generates for <paramref name="kernel"/>, for a device with every optional capability.</summary>
    public static string OpenClC(MethodInfo kernel)
    {
        var context = IlgpuContexts.Host;
        return Compile(context, kernel, () => new CLBackend(context, AllCapabilities(), CLDeviceVendor.Other, OpenClVersion), k => ((CLCompiledKernel)k).Source);
    }

    /// <summary>The entry point ILGPU compiles for <paramref name="kernel"/>: implicitly grouped when it takes an <c>Index1D</c> first.</summary>
    public static EntryPointDescription EntryPoint(MethodInfo kernel) =>
        KernelCatalog.IsImplicitlyGrouped(kernel) ? EntryPointDescription.FromImplicitlyGroupedKernel(kernel) : EntryPointDescription.FromExplicitlyGroupedKernel(kernel);

    private static string Compile(Context context, MethodInfo kernel, Func<Backend> backend, Func<CompiledKernel, string> text)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        lock (s_lock)
        {
            using var compiler = backend();
            try
            {
                return text(compiler.Compile(EntryPoint(kernel), new KernelSpecialization()));
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A failed compile leaves ILGPU's caches in a state the next compile trips over.
                context.ClearCache(ClearCacheMode.Everything);
                throw new KernelCompileException($"ILGPU could not compile {KernelCatalog.NameOf(kernel)} for {compiler.BackendType}: {e.Message}", e);
            }
        }
    }

    /// <summary>A capability context with every optional OpenCL capability on (fp16, fp64, the generic address space, 64-bit atomics, sub-groups).</summary>
    private static CLCapabilityContext AllCapabilities() =>
        new(float16: true, float64: true, genericAddressSpace: true, int64_Atomics: true, subGroups: true);
}
