using ILGPU;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Driver;

/// <summary>
/// What one launch of a mirror run calls: the kernel with its arguments, given the
/// <see cref="DeviceMirror"/> of that launch. Carried by value through the replay loop, so a replay
/// allocates nothing; one struct for the testbed's workload and one per arity of a user's kernel.
/// </summary>
internal interface IMirrorLaunch
{
    /// <summary>Launches the kernel over <paramref name="items"/> work items.</summary>
    void Launch(int items, in DeviceMirror mirror);
}

/// <summary>The testbed's workload (<see cref="MirrorWorkload.DeviceOps"/>).</summary>
internal readonly struct WorkLaunch(Action<Index1D, DeviceMirror, DeviceWork, ArrayView<int>> kernel, DeviceWork work, ArrayView<int> data) : IMirrorLaunch
{
    public void Launch(int items, in DeviceMirror mirror) => kernel(items, mirror, work, data);
}

/// <summary>A user's kernel of 1 argument after the mirror.</summary>
internal readonly struct UserLaunch<T1>(Action<Index1D, DeviceMirror, T1> kernel, T1 a1) : IMirrorLaunch
    where T1 : struct
{
    public void Launch(int items, in DeviceMirror mirror) => kernel(items, mirror, a1);
}

/// <summary>A user's kernel of 2 arguments after the mirror.</summary>
internal readonly struct UserLaunch<T1, T2>(Action<Index1D, DeviceMirror, T1, T2> kernel, T1 a1, T2 a2) : IMirrorLaunch
    where T1 : struct
    where T2 : struct
{
    public void Launch(int items, in DeviceMirror mirror) => kernel(items, mirror, a1, a2);
}

/// <summary>A user's kernel of 3 arguments after the mirror.</summary>
internal readonly struct UserLaunch<T1, T2, T3>(Action<Index1D, DeviceMirror, T1, T2, T3> kernel, T1 a1, T2 a2, T3 a3) : IMirrorLaunch
    where T1 : struct
    where T2 : struct
    where T3 : struct
{
    public void Launch(int items, in DeviceMirror mirror) => kernel(items, mirror, a1, a2, a3);
}
