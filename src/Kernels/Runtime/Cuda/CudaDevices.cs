using System.Runtime.InteropServices;
using System.Text;
using Testbed.Kernels.Cuda.Native;

namespace Testbed.Kernels.Cuda;

/// <summary>
/// Finds CUDA devices: loads <c>libcuda.so.1</c>, calls <c>cuInit</c> and lists every device. Without
/// the driver, or with <c>cuInit</c> failing (100 = <c>CUDA_ERROR_NO_DEVICE</c>), one unavailable
/// entry says why; nothing throws. NVRTC must also load, since kernels are compiled at load time.
/// </summary>
internal static unsafe class CudaDevices
{
    public static IEnumerable<Device> Probe()
    {
        if (!NativeLibrary.TryLoad(CudaApi.Library, typeof(CudaDevices).Assembly, null, out _))
        {
            return [Unavailable($"{CudaApi.Library} not found (no NVIDIA driver)")];
        }

        var status = CudaApi.cuInit(0);
        if (status != 0)
        {
            return [Unavailable($"cuInit = {status} ({CudaError.Name(status)})")];
        }

        int count;
        status = CudaApi.cuDeviceGetCount(&count);
        if (status != 0 || count == 0)
        {
            return [Unavailable(status != 0 ? $"cuDeviceGetCount: {CudaError.Name(status)}" : "no CUDA device")];
        }

        if (!Nvrtc.IsAvailable(out var nvrtc))
        {
            return [Unavailable($"the driver sees {count} device(s) but NVRTC is missing: {nvrtc}")];
        }

        var devices = new List<Device>();
        var name = stackalloc byte[256];
        for (var ordinal = 0; ordinal < count; ordinal++)
        {
            int handle;
            CudaError.Check(CudaApi.cuDeviceGet(&handle, ordinal), "cuDeviceGet");
            CudaError.Check(CudaApi.cuDeviceGetName(name, 256, handle), "cuDeviceGetName");
            var text = Encoding.ASCII.GetString(name, 256).TrimEnd('\0');
            var device = handle;
            devices.Add(new Device(AcceleratorType.Cuda, text, d => new CudaAccelerator(d, device), null));
        }

        return devices;
    }

    private static Device Unavailable(string reason) => new(AcceleratorType.Cuda, "CUDA", null, reason);
}
