using System.Reflection;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.DeviceCode;
using Testbed.Kernels.Runners.Cpu;

namespace Testbed.Kernels.Runners;

/// <summary>
/// The direct cpu runner (<c>cpu</c>, the default and CI's): the ILGPU kernel methods called as .NET
/// code on the runner's own threads (<see cref="CpuWorkers"/>), in groups of work items each run in
/// order on one thread, over ILGPU views of CPU memory. A launch completes before it returns, takes a
/// fraction of a microsecond for a small grid and allocates nothing once warm — closer to a GPU's launch
/// than ILGPU's CPU accelerator, which takes tens of microseconds or more and allocates per launch. ILGPU's
/// <c>Atomic</c> is the CPU's own atomics here, and its views' checks are on (see <see cref="ViewAssertions"/>).
/// </summary>
/// <remarks>
/// Only implicitly grouped kernels run here: a kernel that needs groups, barriers, shared memory or
/// warp intrinsics is refused when it loads (<see cref="GroupUse"/>), with a message naming the kernel
/// and <c>ilgpu-cpu</c>, which runs it. Memory comes from the implicit CPU accelerator of a device-less
/// ILGPU context, shared by every direct runner of the process; it never runs a kernel.
/// </remarks>
public sealed class CpuRunner : KernelRunner
{
    /// <summary>Work items per group: one thread runs a group's items in order.</summary>
    public const int GroupSize = 64;

    /// <summary>The name the runner and the catalog give the device.</summary>
    public static readonly string DeviceName = $"{Environment.ProcessorCount} cores, kernels called directly";

    private CpuWorkers? _workers;

    /// <summary>A direct runner with <see cref="Parallelism"/> threads.</summary>
    public CpuRunner()
        : base(AcceleratorKind.Cpu, DeviceName, IlgpuContexts.Host.GetImplicitCPUAccelerator())
    {
    }

    /// <summary>Threads a launch uses (at least 2, so work items race even on one core).</summary>
    public int Parallelism { get; init; } = Math.Max(2, Environment.ProcessorCount);

    /// <inheritdoc/>
    public override bool RunsAlgorithms => false;

    /// <inheritdoc/>
    private protected override bool NativeHostAtomicsCoherent => true;

    /// <summary>The runner's threads, made on first use (after <see cref="Parallelism"/> is set).</summary>
    private CpuWorkers Workers
    {
        get
        {
            if (_workers is null)
            {
                var workers = new CpuWorkers(Parallelism);
                if (Interlocked.CompareExchange(ref _workers, workers, null) is not null)
                {
                    workers.Dispose();
                }
            }

            return _workers;
        }
    }

    /// <summary>Nothing to wait for: a launch completes before it returns.</summary>
    public override void Synchronize()
    {
    }

    /// <inheritdoc/>
    private protected override void DisposeRunner() => _workers?.Dispose();

    /// <inheritdoc/>
    private protected override MemoryBuffer MapHostBuffer(IntPtr pointer, long length, int elementSize) =>
        CPUMemoryBuffer.Create(Accelerator, pointer, length, elementSize);

    /// <inheritdoc/>
    private protected override Action<Index1D, T1> Load<T1>(Action<Index1D, T1> kernel)
    {
        var name = Admit(kernel.Method);
        return (extent, a1) => Launch(name, extent, new KernelCall<T1>(kernel, a1));
    }

    /// <inheritdoc/>
    private protected override Action<Index1D, T1, T2> Load<T1, T2>(Action<Index1D, T1, T2> kernel)
    {
        var name = Admit(kernel.Method);
        return (extent, a1, a2) => Launch(name, extent, new KernelCall<T1, T2>(kernel, a1, a2));
    }

    /// <inheritdoc/>
    private protected override Action<Index1D, T1, T2, T3> Load<T1, T2, T3>(Action<Index1D, T1, T2, T3> kernel)
    {
        var name = Admit(kernel.Method);
        return (extent, a1, a2, a3) => Launch(name, extent, new KernelCall<T1, T2, T3>(kernel, a1, a2, a3));
    }

    /// <inheritdoc/>
    private protected override Action<Index1D, T1, T2, T3, T4> Load<T1, T2, T3, T4>(Action<Index1D, T1, T2, T3, T4> kernel)
    {
        var name = Admit(kernel.Method);
        return (extent, a1, a2, a3, a4) => Launch(name, extent, new KernelCall<T1, T2, T3, T4>(kernel, a1, a2, a3, a4));
    }

    /// <inheritdoc/>
    private protected override Action<Index1D, T1, T2, T3, T4, T5> Load<T1, T2, T3, T4, T5>(Action<Index1D, T1, T2, T3, T4, T5> kernel)
    {
        var name = Admit(kernel.Method);
        return (extent, a1, a2, a3, a4, a5) => Launch(name, extent, new KernelCall<T1, T2, T3, T4, T5>(kernel, a1, a2, a3, a4, a5));
    }

    /// <inheritdoc/>
    private protected override Action<Index1D, T1, T2, T3, T4, T5, T6> Load<T1, T2, T3, T4, T5, T6>(Action<Index1D, T1, T2, T3, T4, T5, T6> kernel)
    {
        var name = Admit(kernel.Method);
        return (extent, a1, a2, a3, a4, a5, a6) => Launch(name, extent, new KernelCall<T1, T2, T3, T4, T5, T6>(kernel, a1, a2, a3, a4, a5, a6));
    }

    /// <summary>The kernel's name, once it is known to need no explicit groups.</summary>
    private static string Admit(MethodInfo kernel)
    {
        var name = KernelCatalog.NameOf(kernel);
        if (GroupUse.Find(kernel) is { } use)
        {
            throw new NotSupportedException($"cpu: kernel {name} uses {use}, which needs explicit groups (barriers, shared memory, warps, group indices); the direct runner has none. Run it on ilgpu-cpu (--accelerator ilgpu-cpu) or a GPU.");
        }

        return name;
    }

    /// <summary>Runs <paramref name="call"/> over <paramref name="extent"/> work items and returns when all ran; rethrows the first item's failure.</summary>
    private void Launch<TCall>(string kernel, Index1D extent, in TCall call)
        where TCall : struct, IKernelCall
    {
        if (!Launches(kernel, extent))
        {
            return;
        }

        var launch = CpuLaunch<TCall>.Begin(call, kernel, extent.X, GroupSize);
        try
        {
            Workers.Run(launch.Groups, launch.RunGroup);
        }
        finally
        {
            launch.End();
        }
    }
}
