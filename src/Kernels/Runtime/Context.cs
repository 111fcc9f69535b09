using Testbed.Kernels.Cpu;
using Testbed.Kernels.Cuda;
using Testbed.Kernels.OpenCl;

namespace Testbed.Kernels;

/// <summary>
/// The devices this machine offers (ILGPU's <c>Context</c>): the Cpu accelerator always, and the
/// OpenCL and CUDA devices the native libraries report, each with its availability and, when
/// unavailable, the reason.
/// </summary>
public sealed class Context : IDisposable
{
    private Context(IReadOnlyList<Device> devices) => Devices = devices;

    /// <summary>Every device found, available or not.</summary>
    public IReadOnlyList<Device> Devices { get; }

    /// <summary>Probes every backend.</summary>
    public static Context CreateDefault() => new(
    [
        new Device(AcceleratorType.Cpu, $"CPU ({Environment.ProcessorCount} cores)", d => new CpuAccelerator(d), null),
        .. OpenClDevices.Probe(),
        .. CudaDevices.Probe(),
    ]);

    /// <summary>The first available device of <paramref name="type"/>, or null.</summary>
    public Device? GetDevice(AcceleratorType type) => Devices.FirstOrDefault(d => d.AcceleratorType == type && d.IsAvailable);

    /// <summary>The Cpu accelerator's device.</summary>
    public Device CpuDevice => GetDevice(AcceleratorType.Cpu)!;

    /// <summary>Releases native state the probes created (none is kept).</summary>
    public void Dispose()
    {
    }
}
