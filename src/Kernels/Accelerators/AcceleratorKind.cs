namespace Testbed.Kernels.Accelerators;

/// <summary>
/// Where kernels run. Every kind runs the same ILGPU kernel methods: <see cref="Cpu"/> calls them
/// directly as .NET code, the others go through ILGPU's own accelerators and compiler.
/// </summary>
public enum AcceleratorKind
{
    /// <summary>
    /// <c>cpu</c>: the kernel methods called directly on the testbed's worker threads over ILGPU views
    /// of CPU memory (the default, and CI's): sub-microsecond launches that allocate nothing.
    /// Implicitly grouped kernels only.
    /// </summary>
    Cpu,

    /// <summary><c>ilgpu-cpu</c>: ILGPU's <c>CPUAccelerator</c>, ILGPU's reference semantics (groups, barriers, shared memory, warps); slower.</summary>
    IlgpuCpu,

    /// <summary><c>cuda</c>: ILGPU's <c>CudaAccelerator</c> (PTX from ILGPU's compiler, run by the CUDA driver).</summary>
    Cuda,

    /// <summary><c>opencl</c>: ILGPU's <c>CLAccelerator</c>, on devices with the generic address space (AMD, Intel GPUs).</summary>
    OpenCl,
}

/// <summary>The names the command line and the results use for <see cref="AcceleratorKind"/>.</summary>
public static class AcceleratorKinds
{
    /// <summary>Every kind, in the order <c>testbed list</c> shows them.</summary>
    public static IReadOnlyList<AcceleratorKind> All { get; } = [AcceleratorKind.Cpu, AcceleratorKind.IlgpuCpu, AcceleratorKind.Cuda, AcceleratorKind.OpenCl];

    /// <summary>What <c>--accelerator auto</c> tries, first available wins.</summary>
    public static IReadOnlyList<AcceleratorKind> AutoOrder { get; } = [AcceleratorKind.Cuda, AcceleratorKind.OpenCl, AcceleratorKind.Cpu];

    /// <summary>The name of <paramref name="kind"/>: <c>cpu</c>, <c>ilgpu-cpu</c>, <c>cuda</c>, <c>opencl</c>.</summary>
    public static string Name(this AcceleratorKind kind) => kind switch
    {
        AcceleratorKind.Cpu => "cpu",
        AcceleratorKind.IlgpuCpu => "ilgpu-cpu",
        AcceleratorKind.Cuda => "cuda",
        AcceleratorKind.OpenCl => "opencl",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "AcceleratorKinds.Name: not an accelerator kind"),
    };

    /// <summary>The kind named <paramref name="name"/>, or null.</summary>
    public static AcceleratorKind? Parse(string name) => All.Cast<AcceleratorKind?>().FirstOrDefault(k => k!.Value.Name() == name);
}
