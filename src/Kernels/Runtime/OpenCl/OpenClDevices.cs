using System.Runtime.InteropServices;
using System.Text;
using Testbed.Kernels.OpenCl.Native;

namespace Testbed.Kernels.OpenCl;

/// <summary>
/// Finds OpenCL devices: loads <c>libOpenCL.so.1</c> (if it is missing, one unavailable entry says
/// what to install), then lists every device of every platform. A failure is reported with the
/// CL error name, never thrown.
/// </summary>
internal static unsafe class OpenClDevices
{
    public static IEnumerable<Device> Probe()
    {
        if (!NativeLibrary.TryLoad(OpenClApi.Library, typeof(OpenClDevices).Assembly, null, out _))
        {
            return [Unavailable($"{OpenClApi.Library} not found (install ocl-icd-libopencl1 and an ICD such as pocl-opencl-icd)")];
        }

        uint count;
        var status = OpenClApi.clGetPlatformIDs(0, null, &count);
        if (status != 0 || count == 0)
        {
            return [Unavailable(status != 0 ? $"clGetPlatformIDs: {OpenClError.Name(status)}" : "no OpenCL platform")];
        }

        var platforms = new nint[count];
        fixed (nint* p = platforms)
        {
            OpenClError.Check(OpenClApi.clGetPlatformIDs(count, p, null), "clGetPlatformIDs");
        }

        var devices = new List<Device>();
        foreach (var platform in platforms)
        {
            uint n;
            if (OpenClApi.clGetDeviceIDs(platform, OpenClApi.DeviceTypeAll, 0, null, &n) != 0 || n == 0)
            {
                continue;
            }

            var ids = new nint[n];
            fixed (nint* d = ids)
            {
                OpenClError.Check(OpenClApi.clGetDeviceIDs(platform, OpenClApi.DeviceTypeAll, n, d, null), "clGetDeviceIDs");
            }

            var platformName = PlatformString(platform, OpenClApi.PlatformName);
            foreach (var id in ids)
            {
                var name = $"{platformName}: {DeviceString(id, OpenClApi.DeviceName)} ({DeviceString(id, OpenClApi.DeviceVersion)})";
                devices.Add(new Device(AcceleratorType.OpenCl, name, d => new OpenClAccelerator(d, id), null));
            }
        }

        return devices.Count > 0 ? devices : [Unavailable("OpenCL platforms report no device")];
    }

    private static Device Unavailable(string reason) => new(AcceleratorType.OpenCl, "OpenCL", null, reason);

    private static string PlatformString(nint platform, uint param)
    {
        var buffer = stackalloc byte[512];
        nuint size;
        return OpenClApi.clGetPlatformInfo(platform, param, 512, buffer, &size) == 0 ? Decode(buffer, size) : "?";
    }

    private static string DeviceString(nint device, uint param)
    {
        var buffer = stackalloc byte[512];
        nuint size;
        return OpenClApi.clGetDeviceInfo(device, param, 512, buffer, &size) == 0 ? Decode(buffer, size) : "?";
    }

    private static string Decode(byte* text, nuint size) => Encoding.UTF8.GetString(text, (int)size).TrimEnd('\0').Trim();
}
