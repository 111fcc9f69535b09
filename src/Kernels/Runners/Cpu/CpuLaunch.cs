namespace Testbed.Kernels.Runners.Cpu;

/// <summary>
/// One launch on the direct cpu runner: the call, the extent cut into groups, and the delegate
/// <see cref="CpuWorkers"/> runs per group. One instance per call type and launching thread, reused
/// launch after launch, so a launch allocates nothing once warm (a closure per launch was most of what
/// a device run allocated). The launching thread holds it from <see cref="Begin"/> to <see cref="End"/>,
/// and <see cref="CpuWorkers.Run"/> returns only when every group has run, so no two launches share one.
/// </summary>
internal sealed class CpuLaunch<TCall>
    where TCall : struct, IKernelCall
{
    [ThreadStatic]
    private static CpuLaunch<TCall>? t_launch;

    private TCall _call;
    private string _kernel = string.Empty;
    private int _extent;
    private int _group;

    private CpuLaunch() => RunGroup = Run;

    /// <summary>Runs one group's work items in order (the body <see cref="CpuWorkers.Run"/> calls).</summary>
    public Action<int> RunGroup { get; }

    /// <summary>How many groups the extent makes.</summary>
    public int Groups { get; private set; }

    /// <summary>The calling thread's launch of <typeparamref name="TCall"/>, set up for <paramref name="call"/> of <paramref name="kernel"/> over <paramref name="extent"/> items in groups of <paramref name="group"/>.</summary>
    public static CpuLaunch<TCall> Begin(in TCall call, string kernel, int extent, int group)
    {
        var launch = t_launch ??= new CpuLaunch<TCall>();
        launch._call = call;
        launch._kernel = kernel;
        launch._extent = extent;
        launch._group = group;
        launch.Groups = (extent + group - 1) / group;
        return launch;
    }

    /// <summary>Lets go of the call (its kernel delegate and arguments).</summary>
    public void End() => _call = default;

    /// <summary>
    /// Runs group <paramref name="g"/>. A work item that throws — its own exception, or an ILGPU view
    /// check that failed (<see cref="KernelAssertionException"/>) — ends the launch with a
    /// <see cref="KernelException"/> naming the kernel and the item.
    /// </summary>
    private void Run(int g)
    {
        var i = g * _group;
        try
        {
            for (var end = Math.Min(_extent, i + _group); i < end; i++)
            {
                _call.Invoke(i);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new KernelException(_kernel, i, e);
        }
    }
}
