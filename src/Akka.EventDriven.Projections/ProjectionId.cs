namespace Akka.EventDriven.Projections;

/// <summary>Identifies a projection: its name and, for projections split by key, the key.</summary>
/// <param name="Name">The projection name, e.g. <c>active-investigations</c>.</param>
/// <param name="Key">The key of this instance. Default: <c>all</c>.</param>
public sealed record ProjectionId(string Name, string Key = "all")
{
    /// <inheritdoc />
    public override string ToString() => $"{Name}/{Key}";
}
