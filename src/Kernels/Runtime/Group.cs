namespace Testbed.Kernels;

/// <summary>The work item's place in its group (ILGPU's <c>Group</c>): valid inside a kernel.</summary>
public static class Group
{
    [ThreadStatic] private static int t_idx;
    [ThreadStatic] private static int t_dim;

    /// <summary>The index within the group (<c>get_local_id(0)</c>, <c>threadIdx.x</c>).</summary>
    public static int IdxX => t_idx;

    /// <summary>The group size (<c>get_local_size(0)</c>, <c>blockDim.x</c>).</summary>
    public static int DimX => t_dim;

    internal static void Set(int idx, int dim)
    {
        t_idx = idx;
        t_dim = dim;
    }
}

/// <summary>The group's place in the grid (ILGPU's <c>Grid</c>): valid inside a kernel.</summary>
public static class Grid
{
    [ThreadStatic] private static int t_idx;
    [ThreadStatic] private static int t_dim;

    /// <summary>The group index (<c>get_group_id(0)</c>, <c>blockIdx.x</c>).</summary>
    public static int IdxX => t_idx;

    /// <summary>The number of groups (<c>get_num_groups(0)</c>, <c>gridDim.x</c>).</summary>
    public static int DimX => t_dim;

    internal static void Set(int idx, int dim)
    {
        t_idx = idx;
        t_dim = dim;
    }
}
