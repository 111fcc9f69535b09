using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Backends.OpenCL;
using ILGPU.Backends.PTX;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using Testbed.Kernels.Runners;

namespace Testbed.Kernels.Accelerators;

/// <summary>
/// Every accelerator this machine offers, available or with the reason it is not: <c>cpu</c> and
/// <c>ilgpu-cpu</c> always; every CUDA and OpenCL device ILGPU finds, probed once per process and
/// only when asked for, so a run on <c>cpu</c> never loads a GPU driver. A device ILGPU refuses is
/// listed with ILGPU's own reason (PoCL 3.1, for instance, lacks the generic address space).
/// </summary>
public static class AcceleratorCatalog
{
    private static readonly Lazy<IReadOnlyList<AcceleratorEntry>> s_cuda = new(ProbeCuda);
    private static readonly Lazy<IReadOnlyList<AcceleratorEntry>> s_openCl = new(ProbeOpenCl);

    /// <summary>The direct cpu runner's entry (always available).</summary>
    public static AcceleratorEntry Cpu { get; } = new(
        AcceleratorKind.Cpu,
        $"{Environment.ProcessorCount} cores, kernels called directly",
        "the default: sub-microsecond launches that allocate nothing; implicitly grouped kernels only",
        () => new CpuRunner(),
        null);

    /// <summary>ILGPU's CPU accelerator shaped by <paramref name="settings"/> (by default <see cref="IlgpuCpuSettings.Default"/>).</summary>
    public static AcceleratorEntry IlgpuCpu(IlgpuCpuSettings? settings = null)
    {
        var s = settings ?? IlgpuCpuSettings.Default;
        return new AcceleratorEntry(
            AcceleratorKind.IlgpuCpu,
            $"ILGPU CPUAccelerator {s}",
            "ILGPU's reference semantics (groups, barriers, shared memory, warps); launches cost tens of microseconds or more",
            () => IlgpuRunner.OnCpu(s),
            null);
    }

    /// <summary>Every CUDA device (or one unavailable entry saying why there is none).</summary>
    public static IReadOnlyList<AcceleratorEntry> Cuda => s_cuda.Value;

    /// <summary>Every OpenCL device (or one unavailable entry saying why there is none).</summary>
    public static IReadOnlyList<AcceleratorEntry> OpenCl => s_openCl.Value;

    /// <summary>Every accelerator, in <see cref="AcceleratorKinds.All"/> order.</summary>
    public static IReadOnlyList<AcceleratorEntry> All(IlgpuCpuSettings? ilgpuCpu = null) => [Cpu, IlgpuCpu(ilgpuCpu), .. Cuda, .. OpenCl];

    /// <summary>
    /// The first available accelerator of <paramref name="kind"/>, or, when there is none, the first
    /// entry of that kind (unavailable, with its reason).
    /// </summary>
    public static AcceleratorEntry Find(AcceleratorKind kind, IlgpuCpuSettings? ilgpuCpu = null)
    {
        IReadOnlyList<AcceleratorEntry> entries = kind switch
        {
            AcceleratorKind.Cpu => [Cpu],
            AcceleratorKind.IlgpuCpu => [IlgpuCpu(ilgpuCpu)],
            AcceleratorKind.Cuda => Cuda,
            AcceleratorKind.OpenCl => OpenCl,
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "AcceleratorCatalog.Find: not an accelerator kind"),
        };
        return entries.FirstOrDefault(e => e.IsAvailable) ?? entries[0];
    }

    /// <summary>What <c>--accelerator auto</c> means: the first available of cuda, opencl, cpu.</summary>
    public static AcceleratorEntry Auto() => AcceleratorKinds.AutoOrder.Select(k => Find(k)).First(e => e.IsAvailable);

    private static IReadOnlyList<AcceleratorEntry> ProbeCuda()
    {
        if (!CanLoad("libcuda.so.1", "libcuda.so"))
        {
            return [Unavailable(AcceleratorKind.Cuda, "CUDA", "libcuda.so.1 not found (no NVIDIA driver)")];
        }

        var context = IlgpuContexts.Gpus;
        var devices = context.Devices.OfType<CudaDevice>().ToList();
        if (devices.Count == 0)
        {
            var status = CudaAPI.CurrentAPI.GetDeviceCount(out var count);
            return [Unavailable(AcceleratorKind.Cuda, "CUDA", status == CudaError.CUDA_SUCCESS ? $"the driver reports {count} device(s), none usable" : $"the driver loads but cuDeviceGetCount says {status}")];
        }

        return [.. devices.Select(d =>
            d.Architecture is { } arch && d.InstructionSet is { } isa && PTXCodeGenerator.SupportedInstructionSets.Contains(isa)
                ? new AcceleratorEntry(AcceleratorKind.Cuda, d.Name, $"{arch}, PTX {isa}", () => SignalGuard.Run(() => IlgpuRunner.OnCuda(context, d)), null)
                : Unavailable(AcceleratorKind.Cuda, d.Name, $"ILGPU 1.5.3 cannot compile for it (architecture {d.Architecture?.ToString() ?? "unknown"}, instruction set {d.InstructionSet?.ToString() ?? "unknown"})"))];
    }

    private static IReadOnlyList<AcceleratorEntry> ProbeOpenCl()
    {
        if (!CanLoad("libOpenCL.so.1", "libOpenCL.so"))
        {
            return [Unavailable(AcceleratorKind.OpenCl, "OpenCL", "libOpenCL.so.1 not found (install an OpenCL ICD loader and a driver)")];
        }

        var context = IlgpuContexts.Gpus;
        var devices = context.Devices.OfType<CLDevice>().ToList();
        if (devices.Count == 0)
        {
            return [Unavailable(AcceleratorKind.OpenCl, "OpenCL", "no OpenCL platform or device found")];
        }

        return [.. devices.Select(d =>
            d.CLStdVersion >= CLBackend.MinimumVersion && d.Capabilities.GenericAddressSpace
                ? new AcceleratorEntry(AcceleratorKind.OpenCl, d.Name, $"OpenCL C {d.CLStdVersion}", () => SignalGuard.Run(() => IlgpuRunner.OnOpenCl(context, d)), null)
                : Unavailable(AcceleratorKind.OpenCl, d.Name, $"ILGPU refuses it: {Refusal(context, d)}"))];
    }

    /// <summary>ILGPU's own words for refusing <paramref name="device"/> (creating an accelerator on it throws them).</summary>
    private static string Refusal(Context context, CLDevice device)
    {
        try
        {
            SignalGuard.Run(() =>
            {
                device.CreateCLAccelerator(context).Dispose();
                return 0;
            });
            return $"OpenCL C {device.CLStdVersion} is older than {CLBackend.MinimumVersion}";
        }
        catch (Exception e) when (e is CapabilityNotSupportedException or NotSupportedException or CLException)
        {
            return e.Message;
        }
    }

    private static AcceleratorEntry Unavailable(AcceleratorKind kind, string name, string reason) => new(kind, name, string.Empty, null, reason);

    private static bool CanLoad(params string[] names)
    {
        foreach (var name in names)
        {
            if (NativeLibrary.TryLoad(name, out var handle))
            {
                NativeLibrary.Free(handle);
                return true;
            }
        }

        return false;
    }
}
