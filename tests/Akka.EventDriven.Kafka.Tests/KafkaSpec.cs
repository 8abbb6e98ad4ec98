#region usings
using Akka.EventDriven.Kafka;
using Akka.EventDriven.Streaming;
using Akka.Streams.Dsl;
using Confluent.Kafka;
#endregion
using System.Collections.Concurrent;
using Akka.Configuration;
using Akka.EventDriven.Kafka.TestKit;
using Akka.Streams;
using Akka.Streams.TestKit;
using Xunit.Abstractions;

namespace Akka.EventDriven.Kafka.Tests;

/// <summary>One mock cluster for the test class; every test uses its own topics and groups.</summary>
public sealed class MockClusterFixture : IDisposable
{
    public MockKafkaCluster Cluster { get; } = new(brokers: 3);

    public void Dispose() => Cluster.Dispose();
}

/// <summary>What the Kafka specs share: the class's mock cluster, a materializer, unique names and client settings
/// with short group timeouts.</summary>
public abstract class KafkaSpecBase : Akka.TestKit.Xunit2.TestKit
{
    protected static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    protected readonly MockKafkaCluster _cluster;
    protected readonly ActorMaterializer _materializer;

    protected KafkaSpecBase(MockClusterFixture fixture, ITestOutputHelper output) : base(output: output)
    {
        _cluster = fixture.Cluster;
        _materializer = Sys.Materializer();
    }

    protected static string Unique(string name) => $"{name}-{Guid.NewGuid():N}";

    protected KafkaProducerSettings<Null, string> ProducerSettings() =>
        KafkaProducerSettings<Null, string>.Create(Sys).WithBootstrapServers(_cluster.BootstrapServers);

    protected KafkaConsumerSettings<Null, string> ConsumerSettings(string group) =>
        KafkaConsumerSettings<Null, string>.Create(Sys)
            .WithBootstrapServers(_cluster.BootstrapServers)
            .WithGroupId(group)
            .WithProperty("session.timeout.ms", "6000")
            .WithProperty("heartbeat.interval.ms", "500");
}

public sealed class KafkaSpec(MockClusterFixture fixture, ITestOutputHelper output)
    : KafkaSpecBase(fixture, output), IClassFixture<MockClusterFixture>
{
    /// <summary>Messages "0".."count-1", spread round-robin over 3 partitions (null keys would stick to few partitions).</summary>
    private async Task ProduceAsync(string topic, int count) =>
        await Source.From(Enumerable.Range(0, count))
            .Select(i => new ProducerMessage<Null, string, int>(topic, new Message<Null, string> { Value = i.ToString() }, i, Partition: i % 3))
            .RunWith(KafkaProducer.Sink<Null, string, int>(ProducerSettings()), _materializer).WaitAsync(Wait);

    [Fact]
    public async Task Produced_messages_are_consumed_from_every_partition_by_the_plain_source()
    {
        var topic = Unique("plain");
        _cluster.CreateTopic(topic, partitions: 3);
        await ProduceAsync(topic, 1000);

        var (control, received) = KafkaConsumer.PlainSource(ConsumerSettings(Unique("g")), topic)
            .Take(1000)
            .ToMaterialized(Sink.Seq<ConsumeResult<Null, string>>(), Keep.Both)
            .Run(_materializer);
        var records = await received.WaitAsync(Wait);

        Assert.Equal(Enumerable.Range(0, 1000).Select(i => i.ToString()).Order(), records.Select(r => r.Message.Value).Order());
        Assert.Equal(3, records.Select(r => r.Partition.Value).Distinct().Count());
        foreach (var partition in records.GroupBy(r => r.Partition.Value))   // in order within each partition
            Assert.Equal(partition.Select(r => r.Offset.Value).Order(), partition.Select(r => r.Offset.Value));
        await control.Closed.WaitAsync(Wait);
    }

    [Fact]
    public async Task Producer_flow_emits_delivery_reports_in_input_order_with_the_pass_through()
    {
        var topic = Unique("flow");
        _cluster.CreateTopic(topic, partitions: 2);
        #region kafka-producer-flow
        var results = await Source.From(Enumerable.Range(0, 200))
            .Select(i => new ProducerMessage<Null, string, int>(topic, new Message<Null, string> { Value = $"v{i}" }, i, Partition: i % 2))
            .Via(KafkaProducer.Flow<Null, string, int>(ProducerSettings()))          // delivery reports, in input order
            .RunWith(Sink.Seq<ProducerResult<Null, string, int>>(), _materializer).WaitAsync(Wait);
        #endregion

        Assert.Equal(Enumerable.Range(0, 200), results.Select(r => r.PassThrough));
        Assert.All(results, r =>
        {
            Assert.Equal(PersistenceStatus.Persisted, r.Report.Status);
            Assert.Equal(r.PassThrough % 2, r.Report.Partition.Value);
            Assert.Equal(r.PassThrough / 2, r.Report.Offset.Value);
            Assert.Equal($"v{r.PassThrough}", r.Report.Message.Value);
        });
    }

    [Fact]
    public async Task Producer_flow_emits_each_delivery_while_upstream_is_idle()
    {
        var topic = Unique("idle");
        _cluster.CreateTopic(topic, 1);
        var (source, sink) = this.SourceProbe<ProducerMessage<Null, string, int>>()
            .Via(KafkaProducer.Flow<Null, string, int>(ProducerSettings()))
            .ToMaterialized(this.SinkProbe<ProducerResult<Null, string, int>>(), Keep.Both)
            .Run(_materializer);
        sink.Request(10);
        for (var i = 0; i < 3; i++)
        {
            source.SendNext(new ProducerMessage<Null, string, int>(topic, new Message<Null, string> { Value = $"v{i}" }, i));
            var result = sink.ExpectNext(TimeSpan.FromSeconds(10));      // upstream sends nothing more until this arrives
            Assert.Equal((i, (long)i), (result.PassThrough, result.Report.Offset.Value));
        }
        source.SendComplete();
        await sink.ExpectCompleteAsync();
    }

    [Fact]
    public async Task Stopping_a_committable_pipeline_commits_what_was_processed_and_the_next_run_resumes_after_it()
    {
        var topic = Unique("graceful");
        var group = Unique("g");
        _cluster.CreateTopic(topic, partitions: 3);
        await ProduceAsync(topic, 1000);
        #region kafka-settings
        var settings = ConsumerSettings(group);   // KafkaConsumerSettings<Null, string>.Create(Sys).WithBootstrapServers(...).WithGroupId(group)
        #endregion
        var seen = new ConcurrentQueue<string>();

        await using (var processor = new StreamProcessor(Sys))
        {
            #region kafka-ingest
            processor.DefinePipeline(Pipeline.Create("ingest")
                .From(KafkaConsumer.CommittableSource(settings, topic))
                .Select(m => { seen.Enqueue(m.Record.Message.Value); return m; })
                .To(Committer.Sink<CommittableMessage<Null, string>>(new CommitterSettings(MaxBatch: 100, MaxInterval: TimeSpan.FromHours(1)))));
            #endregion
            await processor.StartAsync("ingest");
            await AwaitConditionAsync(() => Task.FromResult(seen.Count >= 300), Wait);
            await processor.StopAsync("ingest");
            Assert.Equal(PipelineStatus.Stopped, processor.GetStatus("ingest"));
        }
        var firstRun = seen.ToArray();
        Assert.InRange(firstRun.Length, 300, 1000);

        var rest = await ConsumeRemainingAsync(settings, topic, 1000 - firstRun.Length);
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => i.ToString()).Order(), firstRun.Concat(rest).Order());   // no loss, no duplicate
    }

    [Fact]
    public async Task After_an_abrupt_stop_the_group_resumes_from_the_last_batch_commit_duplicating_at_most_one_batch()
    {
        var topic = Unique("abrupt");
        var group = Unique("g");
        _cluster.CreateTopic(topic, partitions: 3);
        await ProduceAsync(topic, 1000);
        var settings = ConsumerSettings(group);
        var seen = new ConcurrentQueue<string>();

        var materializer = ActorMaterializer.Create(Sys, ActorMaterializerSettings.Create(Sys), "crashing");   // its own, to shut down
        var stuck = new TaskCompletionSource<CommittableMessage<Null, string>>();
        var control = KafkaConsumer.CommittableSource(settings, topic)
            .SelectAsync(1, m =>
            {
                if (seen.Count == 250) return stuck.Task;        // the 251st message hangs: the process "crashes" here
                seen.Enqueue(m.Record.Message.Value);
                return Task.FromResult(m);
            })
            .ToMaterialized(Committer.Sink<CommittableMessage<Null, string>>(new CommitterSettings(MaxBatch: 100, MaxInterval: TimeSpan.FromHours(1))), Keep.Left)
            .Run(materializer);
        await AwaitConditionAsync(() => Task.FromResult(seen.Count >= 250), Wait);
        materializer.Shutdown();                  // a crash: no final commit
        await control.Closed.WaitAsync(Wait);
        var firstRun = seen.ToArray();

        var committed = firstRun.Length / 100 * 100;
        var rest = await ConsumeRemainingAsync(settings, topic, 1000 - committed);
        var all = firstRun.Concat(rest).ToList();
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => i.ToString()).Order(), all.Distinct().Order());   // nothing lost
        Assert.Equal(250, firstRun.Length);
        Assert.Equal(50, all.Count - 1000);                 // only the uncommitted part of the batch (201-250) again
    }

    /// <summary>Reads <paramref name="expected"/> messages with a committable source of the group, then checks that nothing follows.</summary>
    private async Task<IReadOnlyList<string>> ConsumeRemainingAsync(KafkaConsumerSettings<Null, string> settings, string topic, int expected)
    {
        var (control, done) = KafkaConsumer.CommittableSource(settings, topic)
            .Select(m => m.Record.Message.Value)
            .Take(expected)
            .ToMaterialized(Sink.Seq<string>(), Keep.Both)
            .Run(_materializer);
        var values = await done.WaitAsync(Wait);
        await control.Closed.WaitAsync(Wait);
        return values;
    }

    [Fact]
    public void Settings_come_from_hocon_with_raw_librdkafka_properties_passed_through()
    {
        var config = ConfigurationFactory.ParseString("""
            akka.event-driven.kafka {
              bootstrap-servers = "broker-1:9092,broker-2:9092"
              properties { "client.id" = intelops, "socket.keepalive.enable" = true }
              consumer {
                group-id = analysts
                commit-batch-size = 250
                properties { "fetch.wait.max.ms" = 25 }
              }
              producer.properties { "linger.ms" = 2, compression.type = lz4 }
            }
            """);
        var consumer = KafkaConsumerSettings<string, string>.Create(config);
        Assert.Equal("broker-1:9092,broker-2:9092", consumer.Properties["bootstrap.servers"]);
        Assert.Equal("analysts", consumer.Properties["group.id"]);
        Assert.Equal("intelops", consumer.Properties["client.id"]);
        Assert.Equal("true", consumer.Properties["socket.keepalive.enable"]);
        Assert.Equal("25", consumer.Properties["fetch.wait.max.ms"]);
        Assert.Equal("earliest", consumer.Properties["auto.offset.reset"]);   // from reference.conf
        Assert.Equal(250, CommitterSettings.From(consumer).MaxBatch);

        var producer = KafkaProducerSettings<string, string>.Create(config);
        Assert.Equal("2", producer.Properties["linger.ms"]);
        Assert.Equal("lz4", producer.Properties["compression.type"]);
        Assert.Equal("all", producer.Properties["acks"]);
        Assert.False(producer.Properties.ContainsKey("group.id"));

        var defaults = KafkaConsumerSettings<string, string>.Create((Akka.Configuration.Config?)null);
        Assert.Equal("10", defaults.Properties["fetch.wait.max.ms"]);
        Assert.Throws<ArgumentException>(() => KafkaConsumer.CommittableSource(defaults.WithBootstrapServers("x:1"), "t"));
    }
}
