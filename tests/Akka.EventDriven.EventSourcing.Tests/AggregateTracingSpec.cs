using System.Diagnostics;
using System.Text;
using Akka.EventDriven.Diagnostics;
using Microsoft.Data.Sqlite;

namespace Akka.EventDriven.EventSourcing.Tests;

/// <summary>Item 6 of issue 13: a command carries its sender's W3C trace context into the metadata of the events it
/// raises; with tracing off nothing is added to what is stored.</summary>
public sealed class AggregateTracingSpec
{
    private static string NewId() => $"trace-{Guid.NewGuid():N}";

    private static async Task<string> StoredPayloadAsync(TestStore store, string aggregateId)
    {
        await using var connection = new SqliteConnection(store.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT payload FROM event_journal WHERE persistence_id = @pid ORDER BY sequence_nr LIMIT 1";
        command.Parameters.AddWithValue("@pid", PersistenceIds.For("Ledger", aggregateId));
        return Encoding.UTF8.GetString((byte[])(await command.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task Events_store_the_trace_context_of_the_command_activity_which_is_a_child_of_the_callers()
    {
        using var collector = new TraceCollector();
        var store = TestStore.NewSqlite();
        await using var node = await NodeHost.StartAsync(store);
        var id = NewId();

        using (var root = collector.StartRoot())
        {
            root.TraceStateString = "vendor=abc";
            Assert.IsType<CommandAccepted>(await node.Ledger.SendAsync(id, new Open("kim")));
        }

        var send = Assert.Single(collector.Of(EventDrivenTracing.EventSourcing, "Ledger Open"));
        var root0 = Assert.Single(collector.Of(TraceCollector.TestSourceName, "test request"));
        Assert.Equal(ActivityKind.Client, send.Kind);
        Assert.Equal(root0.SpanId, send.ParentSpanId);
        Assert.Equal(root0.TraceId, send.TraceId);
        Assert.Equal(id, send.GetTagItem("event_driven.aggregate_id"));

        var history = await node.Ledger.GetHistoryAsync(id);
        var metadata = Assert.Single(history).Metadata;
        Assert.Equal(send.Id, metadata.TraceParent);
        Assert.Equal("vendor=abc", metadata.TraceState);
        Assert.Contains($"\"traceParent\":\"{send.Id}\"", await StoredPayloadAsync(store, id));
    }

    [Fact]
    public async Task A_caller_activity_nobody_listens_to_is_still_propagated()
    {
        // The caller's trace (an incoming request's, say) is kept even when this platform's sources are not listened to.
        await using var node = await NodeHost.StartAsync(TestStore.NewSqlite());
        var id = NewId();
        using var caller = new Activity("caller").SetIdFormat(ActivityIdFormat.W3C).Start();

        await node.Ledger.SendAsync(id, new Open("kim"));

        Assert.Equal(caller.Id, Assert.Single(await node.Ledger.GetHistoryAsync(id)).Metadata.TraceParent);
    }

    [Fact]
    public async Task With_no_listener_and_no_current_activity_nothing_is_added_to_the_stored_metadata()
    {
        var store = TestStore.NewSqlite();
        await using var node = await NodeHost.StartAsync(store);
        var id = NewId();
        Assert.Null(Activity.Current);

        await node.Ledger.SendAsync(id, new Open("kim"), new CommandOptions { CorrelationId = "c-1" });

        var metadata = Assert.Single(await node.Ledger.GetHistoryAsync(id)).Metadata;
        Assert.Null(metadata.TraceParent);
        Assert.Null(metadata.TraceState);
        Assert.Equal("c-1", metadata.CorrelationId);
        var stored = await StoredPayloadAsync(store, id);
        Assert.DoesNotContain("trace", stored, StringComparison.OrdinalIgnoreCase);
        // Exactly the members metadata had before tracing existed, and the command id (idempotency).
        using var doc = System.Text.Json.JsonDocument.Parse(stored);
        Assert.Equal(["timestamp", "correlationId", "causationId", "headers", "commandId"],
            doc.RootElement.GetProperty("meta").EnumerateObject().Select(p => p.Name).ToArray());
    }

    [Fact]
    public async Task Events_stored_before_tracing_read_with_no_trace_and_commands_carry_it_between_nodes()
    {
        await using var node = await NodeHost.StartAsync(TestStore.NewSqlite());
        var serialization = node.System.Serialization;

        // A stored event as the journal held it before tracing existed.
        var old = """{"meta":{"timestamp":"2026-01-01T00:00:00+00:00","correlationId":"c","causationId":null,"headers":null},"data":{"owner":"kim"}}"""u8.ToArray();
        var serializer = (Akka.Serialization.SerializerWithStringManifest)serialization.FindSerializerFor(
            new DomainEvent(new Opened("x"), new EventMetadata(DateTimeOffset.UtcNow)));
        var read = (DomainEvent)serializer.FromBinary(old, "ledger.opened.v1");
        Assert.Equal(new Opened("kim"), read.Payload);
        Assert.Equal("c", read.Metadata.CorrelationId);
        Assert.Null(read.Metadata.TraceParent);

        // The command as it crosses to the node hosting the entity keeps the sender's context.
        const string parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        var command = new AggregateCommand("a-1", new Open("kim")) { TraceParent = parent, TraceState = "k=v" };
        var commandSerializer = serialization.FindSerializerFor(command);
        var manifest = Akka.Serialization.Serialization.ManifestFor(commandSerializer, command);
        var back = (AggregateCommand)serialization.Deserialize(commandSerializer.ToBinary(command), commandSerializer.Identifier, manifest);
        Assert.Equal((parent, "k=v"), (back.TraceParent, back.TraceState));
        var plain = new AggregateCommand("a-1", new Open("kim"));
        Assert.DoesNotContain("trace", Encoding.UTF8.GetString(commandSerializer.ToBinary(plain)));
        Assert.Null(((AggregateCommand)serialization.Deserialize(commandSerializer.ToBinary(plain), commandSerializer.Identifier, manifest)).TraceParent);
    }
}
