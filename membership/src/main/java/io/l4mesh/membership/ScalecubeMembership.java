package io.l4mesh.membership;

import io.l4mesh.membership.codec.AuthenticatedMessageCodec;
import io.l4mesh.membership.codec.BytesMetadataCodec;
import io.l4mesh.membership.codec.Rejections;
import io.scalecube.cluster.Cluster;
import io.scalecube.cluster.ClusterImpl;
import io.scalecube.cluster.ClusterMessageHandler;
import io.scalecube.cluster.membership.MembershipEvent;
import io.scalecube.cluster.transport.api.Message;
import io.scalecube.cluster.transport.api.Transport;
import io.scalecube.transport.netty.tcp.TcpTransportFactory;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * {@link Membership} on scalecube-cluster 2.7 (SWIM failure detection, gossip, metadata). Scalecube types stay in
 * this class and the codecs.
 *
 * <p>Threading: scalecube calls back on its own threads; every callback is handed to one membership thread, which
 * owns {@link #members} and the view and calls the listener.
 */
final class ScalecubeMembership implements Membership {
    private static final String TOPIC_PREFIX = "l4mesh/";
    /**
     * How long a metadata fetch may take. scalecube accepts a suspected member's refutation (and every state update)
     * only once it has fetched the member's metadata; a fetch whose request or answer is lost fails only at this
     * timeout. At scalecube's 3 s, longer than the suspicion timeout (about 1.5 s), one lost frame was enough for a
     * live member to be declared dead (the chaos suite's gossip-loss scenario); a short timeout lets the next copy of
     * the refutation, which gossip repeats, fetch again in time.
     */
    static final int METADATA_TIMEOUT_MS = 3000;
    /** The gossip address of the member that created a message (gossip is relayed, so the frame's sender is not). */
    private static final String ORIGIN_HEADER = "l4mesh-origin";
    private static final System.Logger LOG = System.getLogger(ScalecubeMembership.class.getName());

    private final MembershipConfig config;
    private final MembershipListener listener;
    private final Faults faults;
    private final Rejections rejections = new Rejections();
    private final LongAdder dropped = new LongAdder();
    private final ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "l4mesh-membership");
        t.setDaemon(true);
        return t;
    });
    /** Membership thread only: member id to member. */
    private final Map<String, Member> members = new LinkedHashMap<>();
    private final Map<String, byte[]> states = new ConcurrentHashMap<>();
    private final Map<String, Member> byAddress = new ConcurrentHashMap<>();
    private volatile MemberView view;
    private volatile Transport transport;
    private AuthenticatedMessageCodec codec;
    private Cluster cluster;
    private Member self;
    private volatile boolean left;

    private ScalecubeMembership(MembershipConfig config, MembershipListener listener, Faults faults) {
        this.config = config;
        this.listener = listener;
        this.faults = faults;
    }

    static Membership start(MembershipConfig config, MembershipListener listener, Faults faults) {
        ScalecubeMembership m = new ScalecubeMembership(config, listener, faults);
        m.start();
        return m;
    }

    private void start() {
        String memberId = config.nodeId() + "-" + UUID.randomUUID().toString().substring(0, 8);
        String advertised = config.advertiseHost() + ":" + config.port();
        // Events can arrive while startAwait() runs: the view must exist before it.
        self = new Member(memberId, config.nodeId(), advertised);
        view = new MemberView(self, java.util.List.of(), 0);
        codec = new AuthenticatedMessageCodec(config.key().bytes(), config.clusterName(), advertised, rejections,
            System::currentTimeMillis);
        ClusterImpl impl = new ClusterImpl()
            .config(c -> c.memberId(memberId).memberAlias(config.nodeId()).externalHost(config.advertiseHost())
                .externalPort(config.port())
                .metadataCodec(new BytesMetadataCodec()).metadata(new byte[0]).metadataTimeout(METADATA_TIMEOUT_MS))
            .membership(m -> m.seedMembers(new ArrayList<>(config.seeds())).namespace(config.clusterName())
                .syncInterval((int) config.syncInterval().toMillis())
                .syncTimeout((int) Math.max(1000, config.syncInterval().toMillis()))
                .suspicionMult(config.suspicionMult()))
            .failureDetector(f -> f.pingInterval((int) config.pingInterval().toMillis())
                .pingTimeout((int) config.pingTimeout().toMillis()))
            .gossip(g -> g.gossipInterval(config.gossipInterval().toMillis()))
            .transport(t -> t.port(config.port()).messageCodec(codec).maxFrameLength(2 << 20))
            .transportFactory(() -> cfg -> {
                FaultTransport ft = new FaultTransport(new TcpTransportFactory().createTransport(cfg), faults, dropped);
                transport = ft;
                return ft;
            })
            .handler(c -> new Handler());
        cluster = impl.startAwait();
        LOG.log(System.Logger.Level.INFO, "event=membership.started node=" + config.nodeId() + " address="
            + cluster.member().address() + " seeds=" + config.seeds());
    }

    private final class Handler implements ClusterMessageHandler {
        @Override
        public void onMembershipEvent(MembershipEvent event) {
            thread.execute(() -> safely(() -> handle(event)));
        }

        @Override
        public void onGossip(Message gossip) {
            thread.execute(() -> safely(() -> deliver(gossip)));
        }

        @Override
        public void onMessage(Message message) {
            thread.execute(() -> safely(() -> deliver(message)));
        }
    }

    private void handle(MembershipEvent e) {
        io.scalecube.cluster.Member sm = e.member();
        Member m = new Member(sm.id(), sm.alias() == null ? sm.id() : sm.alias(), sm.address());
        if (e.isAdded()) {
            members.put(m.id(), m);
            byAddress.put(m.address(), m);
            publishView(m, null, false);
            stateFrom(m, e.newMetadata());
        } else if (e.isUpdated()) {
            stateFrom(m, e.newMetadata());
        } else if (e.isLeaving() || e.isRemoved()) {
            if (members.remove(m.id()) != null) {
                byAddress.remove(m.address(), m);
                states.remove(m.id());
                publishView(null, m, e.isLeaving());
            }
        }
    }

    private void stateFrom(Member m, ByteBuffer metadata) {
        if (metadata == null || !members.containsKey(m.id())) {
            return;
        }
        byte[] b = new byte[metadata.remaining()];
        metadata.duplicate().get(b);
        states.put(m.id(), b);
        safely(() -> listener.stateChanged(m, b));
    }

    private void publishView(Member joined, Member gone, boolean graceful) {
        MemberView v = new MemberView(self, new ArrayList<>(members.values()), view.version() + 1);
        view = v;
        safely(() -> listener.viewChanged(v, joined, gone, graceful));
    }

    private void deliver(Message msg) {
        String q = msg.qualifier();
        if (q == null || !q.startsWith(TOPIC_PREFIX) || !(msg.data() instanceof byte[] payload)) {
            return;
        }
        String origin = msg.header(ORIGIN_HEADER);
        String address = String.valueOf(origin != null ? origin : msg.header(AuthenticatedMessageCodec.FROM_HEADER));
        Member known = byAddress.get(address);
        // A member's first messages can arrive before its membership event: it is still a key holder.
        Member from = known != null ? known : new Member(address, address, address);
        safely(() -> listener.message(q.substring(TOPIC_PREFIX.length()), payload, from));
    }

    private static void safely(Runnable r) {
        try {
            r.run();
        } catch (RuntimeException ex) {
            LOG.log(System.Logger.Level.WARNING, "event=membership.listener_failed error=\"" + ex + "\"");
        }
    }

    @Override
    public MemberView view() {
        return view;
    }

    @Override
    public String address() {
        return self.address();
    }

    @Override
    public void publish(byte[] state) {
        if (!left) {
            cluster.updateMetadata(state.clone()).subscribe(null, ex -> LOG.log(System.Logger.Level.WARNING,
                "event=membership.publish_failed error=\"" + ex + "\""));
        }
    }

    @Override
    public byte[] stateOf(Member member) {
        if (member.id().equals(self.id())) {
            return cluster.<byte[]>metadata().orElse(null);
        }
        return states.get(member.id());
    }

    @Override
    public void broadcast(String topic, byte[] payload) {
        if (!left) {
            cluster.spreadGossip(Message.withData(payload).qualifier(TOPIC_PREFIX + topic)
                    .header(ORIGIN_HEADER, self.address()).build())
                .subscribe(null, ex -> { });
        }
    }

    @Override
    public void send(Member to, String topic, byte[] payload) {
        Transport t = transport;
        if (!left && t != null) {
            t.send(to.address(), Message.withData(payload).qualifier(TOPIC_PREFIX + topic)
                    .header(ORIGIN_HEADER, self.address()).build())
                .subscribe(null, ex -> { });
        }
    }

    @Override
    public MembershipStats stats() {
        return new MembershipStats(codec.framesIn(), codec.framesOut(), rejections.total(),
            rejections.count(Rejections.Reason.BAD_MAC), rejections.count(Rejections.Reason.REPLAY),
            rejections.count(Rejections.Reason.STALE),
            rejections.count(Rejections.Reason.MALFORMED) + rejections.count(Rejections.Reason.TRUNCATED),
            dropped.sum());
    }

    @Override
    public void leave(Duration timeout) {
        if (left) {
            return;
        }
        left = true;
        cluster.shutdown();
        try {
            cluster.onShutdown().block(timeout);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "event=membership.leave_slow detail=\"" + e.getMessage() + "\"");
        }
        thread.shutdown();
        try {
            thread.awaitTermination(1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
