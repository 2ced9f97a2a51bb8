"""Every label the explorer's pages show, in Chinese and English (one :class:`Text` each).

Templates reach them as ``L.<name>`` and show them with ``t(...)``; a label missing a
language is a missing argument, found when this module is imported.
"""

from __future__ import annotations

from api.i18n import Text

# page titles
OVERVIEW = Text(en="Registry overview", zh="登记概览")
BATCHES = Text(en="Credit batches", zh="减排量批次")
BATCH = Text(en="Credit batch", zh="减排量批次")
SERIALS = Text(en="Serial lookup", zh="序列号查询")
RETIREMENTS = Text(en="Public retirement register", zh="公开注销登记簿")
CLAIMS = Text(en="Neutrality claims", zh="碳中和声明")
CHECKPOINTS = Text(en="Anchored checkpoints", zh="链上锚定检查点")
METHODOLOGIES = Text(en="Methodologies", zh="方法学")
NOT_FOUND = Text(en="Not found", zh="未找到")
BAD_REQUEST = Text(en="Invalid request", zh="请求无效")

# overview
SUPPLY_BY_REGISTRY = Text(en="Supply by registry", zh="按登记机构统计的供应量")
SUPPLY_BY_VINTAGE = Text(en="Supply by vintage", zh="按年份统计的供应量")
SUPPLY_BY_METHODOLOGY = Text(en="Supply by methodology", zh="按方法学统计的供应量")
SUPPLY_BY_STATE = Text(en="Supply by state", zh="按状态统计的供应量")
TOTAL_ISSUED = Text(en="Total issued", zh="签发总量")
NO_BATCHES = Text(en="No credits have been issued yet.", zh="尚未签发任何减排量。")
CHART_STATES = Text(en="Issued credits by state", zh="已签发减排量的状态分布")

# columns and fields
REGISTRY = Text(en="Registry", zh="登记机构")
VINTAGE = Text(en="Vintage", zh="年份")
METHODOLOGY = Text(en="Methodology", zh="方法学")
STATE = Text(en="State", zh="状态")
QUANTITY = Text(en="Quantity", zh="数量")
ISSUED = Text(en="Issued", zh="已签发")
BATCH_COUNT = Text(en="Batches", zh="批次数")
BLOCK = Text(en="Block", zh="批次编号")
REGION = Text(en="Region", zh="地区")
PROJECT_TYPE = Text(en="Project type", zh="项目类型")
ORIGIN = Text(en="Origin", zh="来源")
ORIGINS = {"issued": Text(en="Issued here", zh="本登记簿签发"),
           "imported": Text(en="Imported from another registry", zh="自其他登记簿转入")}
ISSUED_AT = Text(en="Issued at", zh="签发时间")
SERIAL_RANGE = Text(en="Issued block (serials)", zh="签发序列号区间")
BEHAVIOURS_ROOT = Text(en="Behaviours root", zh="减排行为默克尔根")
NONE = Text(en="none", zh="无")
CORRECTIONS = Text(en="Corrections", zh="更正记录")
FIELD = Text(en="Field", zh="字段")
PREVIOUS = Text(en="Previous", zh="原值")
VALUE = Text(en="Value", zh="新值")
REASON = Text(en="Reason", zh="原因")
AT = Text(en="At", zh="时间")
NO_CORRECTIONS = Text(en="No corrections.", zh="无更正记录。")
LOTS = Text(en="Lots (serial ranges)", zh="序列号区间")
SERIALS_COLUMN = Text(en="Serials", zh="序列号")
HOLDER = Text(en="Holder", zh="持有方")
REFERENCE = Text(en="Reference", zh="关联记录")
HISTORY = Text(en="History of moves", zh="流转记录")
MOVE = Text(en="Move", zh="变动")
FROM = Text(en="From", zh="转出方")
TO = Text(en="To", zh="转入方")
NEXT_PAGE = Text(en="Next page", zh="下一页")
FIRST_PAGE = Text(en="First page", zh="第一页")
NOTHING_FOUND = Text(en="Nothing matches.", zh="没有符合条件的记录。")

# serial lookup
SERIAL_BATCH = Text(en="Batch (block label or id)", zh="批次（批次编号或 ID）")
SERIAL_NUMBER = Text(en="Serial number", zh="序列号")
LOOK_UP = Text(en="Look up", zh="查询")
HELD_BY = Text(en="Held now by", zh="当前持有方")
LOT = Text(en="Lot", zh="所在区间")
SERIAL_RETIRED = Text(en="Retired by", zh="注销记录")
CUSTODY = Text(en="Chain of custody", zh="流转链")
NO_SERIAL = Text(en="No such serial", zh="序列号不存在")

# retirements
BENEFICIARY = Text(en="Beneficiary", zh="受益方")
PURPOSE = Text(en="Purpose", zh="用途")
ANY = Text(en="any", zh="全部")
RETIRED_FROM = Text(en="Retired from", zh="注销起始日期")
RETIRED_UNTIL = Text(en="Retired until", zh="注销截止日期")
FILTER = Text(en="Filter", zh="筛选")
CLEAR = Text(en="Clear", zh="清除")
RETIRED_AT = Text(en="Retired at", zh="注销时间")
CERTIFICATE = Text(en="Certificate", zh="注销证书")
JURISDICTION = Text(en="Jurisdiction", zh="适用地区")
CONSUMPTION_PERIOD = Text(en="Consumption period", zh="消费期间")

# claims
EVENT = Text(en="Event", zh="活动")
SCOPE = Text(en="Scope", zh="范围")
FOOTPRINT = Text(en="Footprint", zh="碳足迹")
RETIRED = Text(en="Retired", zh="已注销")
PROGRESS = Text(en="Progress", zh="进度")
MET = Text(en="Met", zh="已达成")
NOT_MET = Text(en="Not yet met", zh="未达成")
REGISTERED_AT = Text(en="Registered at", zh="登记时间")
CERTIFICATE_PDF = Text(en="Certificate of carbon neutrality", zh="碳中和证明")

# checkpoints
TREE_SIZE = Text(en="Tree size (events)", zh="树大小（事件数）")
ROOT = Text(en="Merkle root", zh="默克尔根")
CHAIN = Text(en="Chain", zh="链")
TRANSACTION = Text(en="Transaction", zh="交易哈希")
BLOCK_NUMBER = Text(en="Block", zh="区块高度")
FINAL = Text(en="Final", zh="已确认")
PENDING = Text(en="Awaiting confirmations", zh="等待确认")
SUBMITTED_AT = Text(en="Submitted at", zh="提交时间")
PROOFS = Text(en="Proofs", zh="证明")
CONSISTENCY = Text(en="consistency", zh="一致性证明")
LOG_LINKS = Text(en="Verify with the log's proof endpoints:", zh="可通过日志证明接口核验：")
NO_CHECKPOINTS = Text(en="No checkpoint has been anchored yet.", zh="尚无已锚定的检查点。")

# methodologies
CODE = Text(en="Code", zh="编号")
VERSION = Text(en="Version", zh="版本")
SCENE = Text(en="Scene", zh="场景")
ACTIVITY_UNIT = Text(en="Activity unit", zh="活动单位")
FACTOR = Text(en="Factor (g CO2e per unit)", zh="排放因子（克二氧化碳当量/单位）")
VALID = Text(en="Valid", zh="有效期")
SUPERSEDED_BY = Text(en="Superseded by", zh="被替代为")
YES = Text(en="yes", zh="是")
NO = Text(en="no", zh="否")
