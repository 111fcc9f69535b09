using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.Compilation;
using Testbed.Kernels.DeviceCode;
using Testbed.Kernels.HostMemory;

namespace Testbed.Kernels.Runners;

/// <summary>
/// One of ILGPU's own accelerators: <c>ilgpu-cpu</c> (<see cref="CPUAccelerator"/>), <c>cuda</c>
/// (<see cref="CudaAccelerator"/>) or <c>opencl</c> (<see cref="CLAccelerator"/>). Kernels are compiled by
/// ILGPU when they load and launched with ILGPU's own launchers. What is the testbed's own here: the
/// host-memory mapping per backend (<see cref="CudaHostMemoryBuffer"/>, <see cref="OpenClHostMemoryBuffer"/>),
/// the link each backend reports, a clear error when ILGPU cannot compile a kernel, and a check that
/// every view a launch passes is memory this accelerator can reach.
/// </summary>
public sealed class IlgpuRunner : KernelRunner
{
    private readonly bool _nativeCoherent;

    private IlgpuRunner(AcceleratorKind kind, string name, Accelerator accelerator, bool nativeCoherent)
        : base(kind, name, accelerator) => _nativeCoherent = nativeCoherent;

    /// <inheritdoc/>
    private protected override bool NativeHostAtomicsCoherent => _nativeCoherent;

    /// <summary>ILGPU's CPU accelerator shaped by <paramref name="settings"/>: the CPU's atomics, so a coherent link.</summary>
    internal static IlgpuRunner OnCpu(IlgpuCpuSettings settings)
    {
        var context = IlgpuContexts.Cpu(settings.Device);
        return new IlgpuRunner(AcceleratorKind.IlgpuCpu, $"ILGPU CPUAccelerator {settings}", context.CreateCPUAccelerator(0, settings.Mode), true);
    }

    /// <summary>A CUDA device; its link is coherent when the device reports host-native atomics (NVLink-C2C, not PCIe).</summary>
    internal static IlgpuRunner OnCuda(Context context, CudaDevice device)
    {
        var accelerator = device.CreateCudaAccelerator(context);
        var coherent = CudaAPI.CurrentAPI.GetDeviceAttribute(DeviceAttributeKind.CU_DEVICE_ATTRIBUTE_HOST_NATIVE_ATOMIC_SUPPORTED, device.DeviceId) != 0;
        return new IlgpuRunner(AcceleratorKind.Cuda, device.Name, accelerator, coherent);
    }

    /// <summary>
    /// An OpenCL device. Its link counts as non-coherent: without fine-grained SVM atomics (ILGPU has no
    /// SVM) nothing makes a device atomic on a <c>CL_MEM_USE_HOST_PTR</c> buffer atomic with respect to the CPU.
    /// </summary>
    internal static IlgpuRunner OnOpenCl(Context context, CLDevice device) =>
        new(AcceleratorKind.OpenCl, device.Name, device.CreateCLAccelerator(context), false);

    /// <inheritdoc/>
    private protected override void DisposeRunner() => Accelerator.Dispose();

    /// <inheritdoc/>
    private protected override MemoryBuffer MapHostBuffer(IntPtr pointer, long length, int elementSize) => Accelerator switch
    {
        CudaAccelerator cuda => new CudaHostMemoryBuffer(cuda, pointer, length, elementSize),
        CLAccelerator openCl => new OpenClHostMemoryBuffer(openCl, pointer, length, elementSize),
        _ => CPUMemoryBuffer.Create(Accelerator, pointer, length, elementSize),
    };

    /// <inheritdoc/>
    private protected override Action<Index1D, T1> Load<T1>(Action<Index1D, T1> kernel)
    {
        var name = KernelCatalog.NameOf(kernel.Method);
        var launch = Compile(name, () => Accelerator.LoadAutoGroupedStreamKernel<Index1D, T1>(kernel));
        return (extent, a1) =>
        {
            if (Launches(name, extent))
            {
                Views<T1>.Check(this, name, 1, a1);
                launch(extent, a1);
            }
        };
    }

    /// <inheritdoc/>
    private protected override Action<Index1D, T1, T2> Load<T1, T2>(Action<Index1D, T1, T2> kernel)
    {
        var name = KernelCatalog.NameOf(kernel.Method);
        var launch = Compile(name, () => Accelerator.LoadAutoGroupedStreamKernel<Index1D, T1, T2>(kernel));
        return (extent, a1, a2) =>
        {
            if (Launches(name, extent))
            {
                Views<T1>.Check(this, name, 1, a1);
                Views<T2>.Check(this, name, 2, a2);
                launch(extent, a1, a2);
            }
        };
    }

    /// <inheritdoc/>
    private protected override Action<Index1D, T1, T2, T3> Load<T1, T2, T3>(Action<Index1D, T1, T2, T3> kernel)
    {
        var name = KernelCatalog.NameOf(kernel.Method);
        var launch = Compile(name, () => Accelerator.LoadAutoGroupedStreamKernel<Index1D, T1, T2, T3>(kernel));
        return (extent, a1, a2, a3) =>
        {
            if (Launches(name, extent))
            {
                Views<T1>.Check(this, name, 1, a1);
                Views<T2>.Check(this, name, 2, a2);
                Views<T3>.Check(this, name, 3, a3);
                launch(extent, a1, a2, a3);
            }
        };
    }

    /// <inheritdoc/>
    private protected override Action<Index1D, T1, T2, T3, T4> Load<T1, T2, T3, T4>(Action<Index1D, T1, T2, T3, T4> kernel)
    {
        var name = KernelCatalog.NameOf(kernel.Method);
        var launch = Compile(name, () => Accelerator.LoadAutoGroupedStreamKernel<Index1D, T1, T2, T3, T4>(kernel));
        return (extent, a1, a2, a3, a4) =>
        {
            if (Launches(name, extent))
            {
                Views<T1>.Check(this, name, 1, a1);
                Views<T2>.Check(this, name, 2, a2);
                Views<T3>.Check(this, name, 3, a3);
                Views<T4>.Check(this, name, 4, a4);
                launch(extent, a1, a2, a3, a4);
            }
        };
    }

    /// <inheritdoc/>
    private protected override Action<Index1D, T1, T2, T3, T4, T5> Load<T1, T2, T3, T4, T5>(Action<Index1D, T1, T2, T3, T4, T5> kernel)
    {
        var name = KernelCatalog.NameOf(kernel.Method);
        var launch = Compile(name, () => Accelerator.LoadAutoGroupedStreamKernel<Index1D, T1, T2, T3, T4, T5>(kernel));
        return (extent, a1, a2, a3, a4, a5) =>
        {
            if (Launches(name, extent))
            {
                Views<T1>.Check(this, name, 1, a1);
                Views<T2>.Check(this, name, 2, a2);
                Views<T3>.Check(this, name, 3, a3);
                Views<T4>.Check(this, name, 4, a4);
                Views<T5>.Check(this, name, 5, a5);
                launch(extent, a1, a2, a3, a4, a5);
            }
        };
    }

    /// <inheritdoc/>
    private protected override Action<Index1D, T1, T2, T3, T4, T5, T6> Load<T1, T2, T3, T4, T5, T6>(Action<Index1D, T1, T2, T3, T4, T5, T6> kernel)
    {
        var name = KernelCatalog.NameOf(kernel.Method);
        var launch = Compile(name, () => Accelerator.LoadAutoGroupedStreamKernel<Index1D, T1, T2, T3, T4, T5, T6>(kernel));
        return (extent, a1, a2, a3, a4, a5, a6) =>
        {
            if (Launches(name, extent))
            {
                Views<T1>.Check(this, name, 1, a1);
                Views<T2>.Check(this, name, 2, a2);
                Views<T3>.Check(this, name, 3, a3);
                Views<T4>.Check(this, name, 4, a4);
                Views<T5>.Check(this, name, 5, a5);
                Views<T6>.Check(this, name, 6, a6);
                launch(extent, a1, a2, a3, a4, a5, a6);
            }
        };
    }

    /// <summary>Lets ILGPU compile a kernel; a refusal becomes a <see cref="KernelCompileException"/>, with ILGPU's caches cleared so the context stays usable.</summary>
    private TLaunch Compile<TLaunch>(string kernel, Func<TLaunch> load)
    {
        try
        {
            return load();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Accelerator.Context.ClearCache(ClearCacheMode.Everything);
            throw new KernelCompileException($"{Kind.Name()}: ILGPU could not compile {kernel}: {e.Message}", e);
        }
    }

    /// <summary>Whether memory of <paramref name="owner"/> can be passed to this accelerator's kernels: its own, or any CPU memory on ILGPU's CPU accelerator.</summary>
    private bool Reaches(Accelerator owner) =>
        owner == Accelerator || (owner.AcceleratorType == AcceleratorType.CPU && Accelerator.AcceleratorType == AcceleratorType.CPU);

    /// <summary>The accelerator owning an <see cref="ArrayView{T}"/> argument, read without boxing it; nothing for other argument types.</summary>
    private static class Views<T>
        where T : struct
    {
        private static readonly Func<T, Accelerator?>? OwnerOf =
            typeof(T).IsGenericType && typeof(T).GetGenericTypeDefinition() == typeof(ArrayView<>)
                ? typeof(Views<T>).GetMethod(nameof(Owner), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
                    .MakeGenericMethod(typeof(T).GetGenericArguments()[0]).CreateDelegate<Func<T, Accelerator?>>()
                : null;

        /// <summary>Refuses argument <paramref name="position"/> of a launch of <paramref name="kernel"/> when it is a view of memory the runner cannot reach.</summary>
        public static void Check(IlgpuRunner runner, string kernel, int position, T argument)
        {
            if (OwnerOf?.Invoke(argument) is { } owner && !runner.Reaches(owner))
            {
                throw new ArgumentException($"Launch of {kernel}: argument {position} is a view of memory of another accelerator ({owner.Name}).");
            }
        }

        private static Accelerator? Owner<TElement>(ArrayView<TElement> view)
            where TElement : unmanaged => view.IsValid ? view.GetAccelerator() : null;
    }
}
