namespace Akka.EventDriven.Storage;

/// <summary>The rows of <c>projection_offsets</c> that a projection's follower keeps up by itself (outside the
/// projection's own steps): its heartbeat and its clean-up at shutdown. Each call uses its own connection.</summary>
public sealed class ProjectionOffsetStore(StoreSettings store)
{
    /// <summary>Sets the heartbeat (<c>updated_at</c>, UTC ticks) of the offset row of projection
    /// <paramref name="name"/>, key <paramref name="key"/>, to <paramref name="nowTicks"/>. Returns false when the row
    /// does not exist (yet). Database errors (the table missing, the database away) are thrown as
    /// <see cref="System.Data.Common.DbException"/>.</summary>
    public async Task<bool> TouchAsync(string name, string key, long nowTicks, CancellationToken ct = default)
    {
        await using var connection = store.CreateConnection();
        await connection.OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE projection_offsets SET updated_at = @now WHERE projection_name = @name AND projection_key = @key";
        command.AddParameter("now", nowTicks);
        command.AddParameter("name", name);
        command.AddParameter("key", key);
        return await command.ExecuteNonQueryAsync(ct) > 0;
    }

    /// <summary>Deletes the offset row of projection <paramref name="name"/>, key <paramref name="key"/>, and every
    /// other row of that projection whose heartbeat is set (above 0) and older than <paramref name="staleBeforeTicks"/>
    /// (UTC ticks). A row whose heartbeat is still 0 is never taken for a leftover.</summary>
    public async Task DeleteOffsetsAsync(string name, string key, long staleBeforeTicks, CancellationToken ct = default)
    {
        await using var connection = store.CreateConnection();
        await connection.OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM projection_offsets WHERE projection_name = @name AND (projection_key = @key OR (updated_at > 0 AND updated_at < @stale))";
        command.AddParameter("name", name);
        command.AddParameter("key", key);
        command.AddParameter("stale", staleBeforeTicks);
        await command.ExecuteNonQueryAsync(ct);
    }
}
